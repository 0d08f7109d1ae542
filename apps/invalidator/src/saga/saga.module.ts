import { Module } from '@nestjs/common';
import { LockingModule } from '@invalidator/locking';
import { VersioningModule } from '@invalidator/versioning';
import { DeadLetterPublisher } from '../kafka/dead-letter.publisher';
import { KAFKA, kafkaProvider } from '../kafka/kafka.provider';
import { InvalidationSaga } from './invalidation.saga';

/**
 * The saga and what it needs. Needs ConfigModule, CacheModule, MonitoringModule and a TypeORM
 * connection from the importing app (all global). The CLI imports it too, so that a manual
 * bump runs through the very same steps.
 */
@Module({
  imports: [LockingModule, VersioningModule],
  providers: [kafkaProvider, DeadLetterPublisher, InvalidationSaga],
  exports: [InvalidationSaga, KAFKA, VersioningModule, LockingModule],
})
export class SagaModule {}
