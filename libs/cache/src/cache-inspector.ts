import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { GLOBAL_VERSION_KEY, tagKey, versionKey } from './cache-keys';
import { REDIS_CLIENT } from './redis.provider';
import { PublishedVersion } from './version-publisher';

/** What the operator CLI reads and rewrites in Redis, beyond the saga's own steps. */
@Injectable()
export class CacheInspector {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Waits for the connection: the client fails commands at once while disconnected (no offline
   * queue), which suits the saga's retries but not a one-shot operator command.
   */
  async connected(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Redis not ready after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Redis answers (readiness). */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** The stored JSON of each `shop.version.{type}` and the global string. */
  async versionKeys(dataTypes: string[]) {
    const values = await this.redis.mget(...dataTypes.map(versionKey), GLOBAL_VERSION_KEY);
    const global = values.pop() ?? null;
    const parsed = values.map((v) =>
      v ? (JSON.parse(v) as { version: number; hash: string }) : null,
    );
    return { types: new Map(dataTypes.map((t, i) => [t, parsed[i]])), global };
  }

  /** Writes the keys as given, unconditionally: for repairs, when Redis is ahead or corrupt. */
  async forcePublish(versions: PublishedVersion[], globalVersion: string): Promise<void> {
    const pipeline = this.redis.multi();
    for (const v of versions) {
      pipeline.set(
        versionKey(v.dataType),
        JSON.stringify({
          version: Number(v.version),
          hash: v.hash,
          updatedAt: v.updatedAt.toISOString(),
        }),
      );
    }
    pipeline.set(GLOBAL_VERSION_KEY, globalVersion);
    await pipeline.exec();
  }

  /** Every tag with a set in Redis (without the `shop.tag.` prefix). */
  async tags(match = '*'): Promise<string[]> {
    const keys = await this.scanKeys(tagKey(match));
    return keys.map((k) => k.slice(tagKey('').length));
  }

  /** Writes a tag set with its keys, as the web tier does (for the invalidation probe). */
  async seedTag(tag: string, keys: string[]): Promise<void> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    const pipeline = this.redis.multi();
    for (const key of keys) pipeline.set(key, 'probe', 'EX', 600);
    pipeline.sadd(tagKey(tag), ...keys.map((k) => `${prefix}${k}`));
    pipeline.expire(tagKey(tag), 600);
    await pipeline.exec();
  }

  async existing(keys: string[]): Promise<string[]> {
    const flags = await Promise.all(keys.map((k) => this.redis.exists(k)));
    return keys.filter((_, i) => flags[i] === 1);
  }

  async remove(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.redis.unlink(...keys);
  }

  async removeVersionKeys(prefix: string): Promise<void> {
    await this.remove(await this.scanKeys(versionKey(`${prefix}*`)));
  }

  /** SCAN patterns are not prefixed by ioredis: add the prefix, and strip it from the results. */
  async scanKeys(pattern: string): Promise<string[]> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    const found: string[] = [];
    const stream = this.redis.scanStream({ match: `${prefix}${pattern}`, count: 500 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      for (const key of batch) found.push(key.slice(prefix.length));
    }
    return [...new Set(found)];
  }
}
