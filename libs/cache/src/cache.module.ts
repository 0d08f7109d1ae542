import { Module } from '@nestjs/common';
import { RedisModule } from '@invalidator/redis';
import { CacheRepair } from './cache-repair';
import { CacheUpdate } from './cache-update';
import { StalenessSampler } from './staleness-sampler';
import { TagPurger } from './tag-purger';
import { VersionPublisher } from './version-publisher';

/** Version keys and tag sets in Redis. Needs ConfigModule (global). */
@Module({
  imports: [RedisModule],
  providers: [VersionPublisher, TagPurger, CacheUpdate, CacheRepair, StalenessSampler],
  exports: [VersionPublisher, TagPurger, CacheUpdate, CacheRepair, StalenessSampler],
})
export class CacheModule {}
