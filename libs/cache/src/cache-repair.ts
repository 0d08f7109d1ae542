import { Inject, Injectable } from '@nestjs/common';
import { GLOBAL_VERSION_KEY, tagKey, versionKey, versionValue } from '@invalidator/client';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { REDIS_CLIENT, RedisClient, groupBySlot, isCluster, scanKeys } from '@invalidator/redis';
import { PublishedVersion } from './version-publisher';

/** What the operator CLI's checks and repair read and rewrite in Redis, beyond the saga's steps. */
@Injectable()
export class CacheRepair {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The stored JSON of each `shop.version.{type}` and the global string. */
  async versionKeys(dataTypes: string[]) {
    const keys = [...dataTypes.map(versionKey), GLOBAL_VERSION_KEY];
    // Each key is in a slot of its own on a cluster: one GET each, in parallel.
    const values = isCluster(this.redis)
      ? await Promise.all(keys.map((k) => this.redis.get(k)))
      : await this.redis.mget(...keys);
    const global = values.pop() ?? null;
    const parsed = values.map((v) =>
      v ? (JSON.parse(v) as { version: number; hash: string }) : null,
    );
    return { types: new Map(dataTypes.map((t, i) => [t, parsed[i]])), global };
  }

  /** Writes the keys as given, unconditionally: for repairs, when Redis is ahead or corrupt. */
  async forcePublish(versions: PublishedVersion[], globalVersion: string): Promise<void> {
    const writes: [string, string][] = versions.map((v) => [
      versionKey(v.dataType),
      versionValue(v),
    ]);
    writes.push([GLOBAL_VERSION_KEY, globalVersion]);
    await Promise.all(
      groupBySlot(this.redis, writes, ([key]) => key).map(async (group) => {
        const multi = this.redis.multi();
        for (const [key, value] of group) multi.set(key, value);
        await multi.exec();
      }),
    );
  }

  /** Every tag with a set in Redis (without the `shop.tag.` prefix). */
  async tags(match = '*'): Promise<string[]> {
    const keys = await this.scanKeys(tagKey(match));
    return keys.map((k) => k.slice(tagKey('').length));
  }

  /** Writes a tag set with its keys, as the web tier does (for the invalidation probe). */
  async seedTag(tag: string, keys: string[]): Promise<void> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    await Promise.all(keys.map((key) => this.redis.set(key, 'probe', 'EX', 600)));
    await this.redis
      .multi()
      .sadd(tagKey(tag), ...keys.map((k) => `${prefix}${k}`))
      .expire(tagKey(tag), 600)
      .exec();
  }

  async existing(keys: string[]): Promise<string[]> {
    const flags = await Promise.all(keys.map((k) => this.redis.exists(k)));
    return keys.filter((_, i) => flags[i] === 1);
  }

  async remove(keys: string[]): Promise<void> {
    await Promise.all(
      groupBySlot(this.redis, keys, (k) => k).map((group) => this.redis.unlink(...group)),
    );
  }

  async removeVersionKeys(prefix: string): Promise<void> {
    await this.remove(await this.scanKeys(versionKey(`${prefix}*`)));
  }

  private scanKeys(pattern: string): Promise<string[]> {
    return scanKeys(this.redis, this.config.REDIS_KEY_PREFIX, pattern);
  }
}
