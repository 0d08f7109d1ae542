import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { GLOBAL_VERSION_KEY, tagKey, versionKey } from './cache-keys';
import { REDIS_CLIENT } from './redis.provider';
import {
  ClusterHealth,
  RedisClient,
  clusterHealth,
  groupBySlot,
  isCluster,
  masters,
} from './redis-topology';
import { PublishedVersion } from './version-publisher';

/** What the operator CLI reads and rewrites in Redis, beyond the saga's own steps. */
@Injectable()
export class CacheInspector {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
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

  /** Redis answers (readiness); a cluster only with every slot served. */
  async ping(): Promise<void> {
    await this.redis.ping();
    const cluster = await clusterHealth(this.redis);
    if (cluster && !cluster.ok) throw new Error('redis cluster: not all slots covered');
  }

  /** The cluster's state and the nodes it knows; undefined on a single server. */
  cluster(): Promise<ClusterHealth | undefined> {
    return clusterHealth(this.redis);
  }

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
      JSON.stringify({
        version: Number(v.version),
        hash: v.hash,
        updatedAt: v.updatedAt.toISOString(),
      }),
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

  /** SCAN patterns are not prefixed by ioredis: add the prefix, and strip it from the results. */
  async scanKeys(pattern: string): Promise<string[]> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    const found: string[] = [];
    // A cluster spreads keys over its masters: scan each of them.
    for (const server of masters(this.redis)) {
      const stream = server.scanStream({ match: `${prefix}${pattern}`, count: 500 });
      for await (const batch of stream as AsyncIterable<string[]>) {
        for (const key of batch) found.push(key.slice(prefix.length));
      }
    }
    return [...new Set(found)];
  }
}
