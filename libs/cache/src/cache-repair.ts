import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { REDIS_CLIENT, scanKeys } from '@invalidator/redis';
import { GLOBAL_VERSION_KEY, tagKey, versionKey, versionValue } from './cache-keys';
import { PublishedVersion } from './version-publisher';

/** What the operator CLI's checks and repair read and rewrite in Redis, beyond the saga's steps. */
@Injectable()
export class CacheRepair {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

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
    for (const v of versions) pipeline.set(versionKey(v.dataType), versionValue(v));
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

  private scanKeys(pattern: string): Promise<string[]> {
    return scanKeys(this.redis, this.config.REDIS_KEY_PREFIX, pattern);
  }
}
