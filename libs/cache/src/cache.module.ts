import { Global, Module } from '@nestjs/common';
import { RedisShutdown, redisClientProvider, REDIS_CLIENT } from './redis.provider';
import { TagPurger } from './tag-purger';
import { VersionPublisher } from './version-publisher';

@Global()
@Module({
  providers: [redisClientProvider, RedisShutdown, VersionPublisher, TagPurger],
  exports: [REDIS_CLIENT, VersionPublisher, TagPurger],
})
export class CacheModule {}
