import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { REDIS_CLIENT } from '@invalidator/cache';
import { lockKey } from './lock.service';

export interface SweptLock {
  key: string;
  /** 'no_ttl': the key never expires; 'ttl_too_long': it outlives any TTL a holder may ask for. */
  reason: 'no_ttl' | 'ttl_too_long';
  ttlMs: number;
}

// Deletes the key only if it still holds the value we judged: a holder that took the lock
// meanwhile is never touched.
const DELETE_IF_VALUE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Finds lock keys nobody can be holding legitimately and removes them. */
@Injectable()
export class LockSweeper {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async sweep(): Promise<SweptLock[]> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    const swept: SweptLock[] = [];
    // SCAN patterns are not prefixed by ioredis: add the prefix, and strip it from the results.
    const stream = this.redis.scanStream({ match: `${prefix}${lockKey('*')}`, count: 200 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      for (const raw of batch) {
        const key = raw.slice(prefix.length);
        const [[, ttlMs], [, value]] = ((await this.redis.multi().pttl(key).get(key).exec()) ??
          []) as [[unknown, number], [unknown, string | null]];
        const reason =
          ttlMs === -1 ? 'no_ttl' : ttlMs > this.config.LOCK_TTL_MS ? 'ttl_too_long' : null;
        if (!reason || value === null) continue;
        if ((await this.redis.eval(DELETE_IF_VALUE, 1, key, value)) === 1)
          swept.push({ key, reason, ttlMs });
      }
    }
    return swept;
  }
}
