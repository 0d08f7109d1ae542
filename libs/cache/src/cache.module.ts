import { Global, Module } from '@nestjs/common';
import { RedisShutdown, redisClientProvider, REDIS_CLIENT } from './redis.provider';
import { CacheInspector } from './cache-inspector';
import { TagPurger } from './tag-purger';
import { VersionPublisher } from './version-publisher';

@Global()
@Module({
  providers: [redisClientProvider, RedisShutdown, VersionPublisher, TagPurger, CacheInspector],
  exports: [REDIS_CLIENT, VersionPublisher, TagPurger, CacheInspector],
})
export class CacheModule {}
