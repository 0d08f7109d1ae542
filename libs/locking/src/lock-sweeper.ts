import { Inject, Injectable } from '@nestjs/common';
import { MAX_LOCK_TTL_MS } from '@invalidator/config';
import { REDIS_CLIENT, RedisClient } from '@invalidator/redis';
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

/**
 * Finds lock keys nobody can be holding legitimately and removes them. It reads the lock keys
 * of the data types it is given (the service's own: its version rows), one key each, never a
 * SCAN of the keyspace: a cache of millions of keys costs it nothing more. A stray lock key of
 * a type nobody bumps blocks nobody; once the type is bumped (its row created), it is found.
 */
@Injectable()
export class LockSweeper {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /** Lock keys that no legitimate holder can have written, with the value seen. */
  async stuck(dataTypes: readonly string[]): Promise<(SweptLock & { value: string })[]> {
    const found: (SweptLock & { value: string })[] = [];
    // Each key is read on its own slot (a cluster's lock keys share no hash tag).
    for (const key of new Set(dataTypes.map(lockKey))) {
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
  async held(
    dataTypes: readonly string[],
  ): Promise<{ key: string; dataType: string; ttlMs: number }[]> {
    const keys = [...new Set(dataTypes.map(lockKey))];
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

  async sweep(dataTypes: readonly string[]): Promise<SweptLock[]> {
    const swept: SweptLock[] = [];
    for (const { value, ...lock } of await this.stuck(dataTypes)) {
      if ((await this.redis.eval(DELETE_IF_VALUE, 1, lock.key, value)) === 1) swept.push(lock);
    }
    return swept;
  }
}
