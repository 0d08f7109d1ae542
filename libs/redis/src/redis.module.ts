import { Module } from '@nestjs/common';
import { RedisReadiness } from './redis-readiness';
import { REDIS_CLIENT, RedisShutdown, redisClientProvider } from './redis.provider';

/** The one Redis client, shared by the libs that own Redis keys (cache, locking). */
@Module({
  providers: [redisClientProvider, RedisShutdown, RedisReadiness],
  exports: [REDIS_CLIENT, RedisReadiness],
})
export class RedisModule {}
