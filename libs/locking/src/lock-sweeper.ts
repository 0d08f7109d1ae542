import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, MAX_LOCK_TTL_MS } from '@invalidator/config';
import { REDIS_CLIENT, RedisClient, scanKeys } from '@invalidator/redis';
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
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Lock keys that no legitimate holder can have written, with the value seen. */
  async stuck(): Promise<(SweptLock & { value: string })[]> {
    const found: (SweptLock & { value: string })[] = [];
    // Scans every master of a cluster; each key is then read on its own slot.
    for (const key of await scanKeys(this.redis, this.config.REDIS_KEY_PREFIX, lockKey('*'))) {
      const replies = (await this.redis.multi().pttl(key).get(key).exec()) ?? [];
      const ttlMs = replies[0]?.[1] as number;
      const value = replies[1]?.[1] as string | null;
      // Judged by the key's own remaining TTL against the longest any instance may ask for, not
      // by this instance's LOCK_TTL_MS: during a rolling TTL change a longer TTL is a live lock,
      // and any key within the bound expires by itself.
      const reason = ttlMs === -1 ? 'no_ttl' : ttlMs > MAX_LOCK_TTL_MS ? 'ttl_too_long' : null;
      if (reason && value !== null) found.push({ key, reason, ttlMs, value });
    }
    return found;
  }

  /** Every lock now, with its data type and remaining TTL (-1: none): what the dashboard lists. */
  async held(): Promise<{ key: string; dataType: string; ttlMs: number }[]> {
    const keys = await scanKeys(this.redis, this.config.REDIS_KEY_PREFIX, lockKey('*'));
    // One PTTL per key, not a pipeline: lock keys may sit in different cluster slots.
    const ttls = await Promise.all(keys.map((key) => this.redis.pttl(key)));
    const prefix = lockKey('');
    return keys
      .map((key, i) => ({
        key,
        dataType: key.startsWith(prefix) ? key.slice(prefix.length) : key,
        ttlMs: ttls[i],
      }))
      .filter((lock) => lock.ttlMs !== -2);
  }

  async sweep(): Promise<SweptLock[]> {
    const swept: SweptLock[] = [];
    for (const { value, ...lock } of await this.stuck()) {
      if ((await this.redis.eval(DELETE_IF_VALUE, 1, lock.key, value)) === 1) swept.push(lock);
    }
    return swept;
  }
}
