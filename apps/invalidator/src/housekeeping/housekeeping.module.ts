import { Module } from '@nestjs/common';
import { CacheModule } from '@invalidator/cache';
import { LockingModule } from '@invalidator/locking';
import { MonitoringModule } from '@invalidator/monitoring';
import { RedisModule } from '@invalidator/redis';
import { VersioningModule } from '@invalidator/versioning';
import { ConsumerModule } from '../kafka/consumer.module';
import { LockSweepScheduler } from './lock-sweep.scheduler';
import { RetentionScheduler } from './retention.scheduler';
import { StalenessScheduler } from './staleness.scheduler';
import { VersionRepublisher } from './version-republisher';

/** Beside the pipeline, keeping the stores in order: interval jobs, versions republished. */
@Module({
  imports: [
    CacheModule,
    LockingModule,
    MonitoringModule,
    RedisModule,
    VersioningModule,
    ConsumerModule,
  ],
  providers: [LockSweepScheduler, RetentionScheduler, StalenessScheduler, VersionRepublisher],
})
export class HousekeepingModule {}
