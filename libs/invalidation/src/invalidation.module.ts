import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { LockingModule } from '@invalidator/locking';
import { VersioningModule } from '@invalidator/versioning';
import { BatchInvalidation } from './batch-invalidation';
import { DEAD_LETTER_SINK, DeadLetterSink } from './dead-letters';
import { InvalidationSaga } from './invalidation.saga';
import { ManualBump } from './manual-bump';
import { SagaTelemetry } from './saga-telemetry';

const SAGA_PROVIDERS = [SagaTelemetry, InvalidationSaga, ManualBump];

/**
 * The saga and its use cases. Needs ConfigModule, CacheModule, MonitoringModule and a TypeORM
 * connection from the importing app (all global).
 */
@Module({})
export class InvalidationModule {
  /** Manual bumps only (the CLI): no consumer, so no dead letters. */
  static forManualBumps(): DynamicModule {
    return {
      module: InvalidationModule,
      imports: [LockingModule, VersioningModule],
      providers: SAGA_PROVIDERS,
      exports: [ManualBump, VersioningModule, LockingModule],
    };
  }

  /** The consumer's batches too; dead letters go through the app's sink (from `imports`). */
  static forConsumer(options: {
    imports: ModuleMetadata['imports'];
    deadLetters: Type<DeadLetterSink>;
  }): DynamicModule {
    return {
      module: InvalidationModule,
      imports: [LockingModule, VersioningModule, ...(options.imports ?? [])],
      providers: [
        ...SAGA_PROVIDERS,
        { provide: DEAD_LETTER_SINK, useExisting: options.deadLetters },
        BatchInvalidation,
      ],
      exports: [ManualBump, BatchInvalidation, VersioningModule, LockingModule],
    };
  }
}
