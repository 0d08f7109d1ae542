import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { CacheModule } from '@invalidator/cache';
import { LockingModule } from '@invalidator/locking';
import { MonitoringModule } from '@invalidator/monitoring';
import { VersioningModule } from '@invalidator/versioning';
import { ConsumeBatch } from './consume-batch';
import { DEAD_LETTER_SINK, DeadLetterSink } from './dead-letters';
import { InvalidationSaga } from './invalidation.saga';
import { ManualBump } from './manual-bump';
import { SagaTelemetry } from './saga-telemetry';
import { VersionsBehind } from './versions-behind';

const SAGA_PROVIDERS = [SagaTelemetry, InvalidationSaga, ManualBump, VersionsBehind];

const SAGA_IMPORTS = [LockingModule, VersioningModule, CacheModule, MonitoringModule];

/** The saga and its use cases. Needs ConfigModule and a TypeORM connection from the app. */
@Module({})
export class InvalidationModule {
  /** Manual bumps only (the CLI): no consumer, so no dead letters. */
  static forManualBumps(): DynamicModule {
    return {
      module: InvalidationModule,
      imports: SAGA_IMPORTS,
      providers: SAGA_PROVIDERS,
      exports: [ManualBump, VersionsBehind],
    };
  }

  /** The consumer's batches too; dead letters go through the app's sink (from `imports`). */
  static forConsumer(options: {
    imports: ModuleMetadata['imports'];
    deadLetters: Type<DeadLetterSink>;
  }): DynamicModule {
    return {
      module: InvalidationModule,
      imports: [...SAGA_IMPORTS, ...(options.imports ?? [])],
      providers: [
        ...SAGA_PROVIDERS,
        { provide: DEAD_LETTER_SINK, useExisting: options.deadLetters },
        ConsumeBatch,
      ],
      exports: [ManualBump, ConsumeBatch, VersionsBehind],
    };
  }
}
