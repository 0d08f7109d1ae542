import Redis from 'ioredis';
import { CacheStep, CacheUpdate, TagPurger, VersionPublisher } from '@invalidator/cache';
import { VERSIONS_CHANNEL, tagKey } from '@invalidator/client';
import { REDIS_SECURITY, REDIS_URL, keyServers, testRedis } from './support/test-env';

/**
 * The saga's Redis steps against a real Redis: one script on one server, three steps on a
 * Cluster (the run's TEST_REDIS_CLUSTER_NODES); the order and the stop at an error either way.
 */
describe('CacheUpdate against a real Redis', () => {
  const prefix = `test:cache-update:${process.pid}:`;
  const redis = testRedis(prefix);
  const subscriber = testRedis(prefix);
  const update = new CacheUpdate(redis, new VersionPublisher(redis), new TagPurger(redis));
  const heard: string[] = [];
  const at = (dataType: string, version: bigint) => ({
    dataType,
    version,
    hash: `${dataType}-${version}`,
    updatedAt: new Date(),
  });

  beforeAll(async () => {
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(`${prefix}${VERSIONS_CHANNEL}`);
  });

  afterAll(async () => {
    let plain: Redis | undefined;
    for (const server of keyServers(redis, () => (plain = new Redis(REDIS_URL, REDIS_SECURITY)))) {
      for (const key of await server.keys(`${prefix}*`)) await server.del(key);
    }
    await plain?.quit();
    await subscriber.quit();
    await redis.quit();
  });

  /** A tag set holding cache keys, as the web tier's fills leave it. */
  async function tagged(tag: string, keys: string[]) {
    for (const key of keys) await redis.set(key, 'fill');
    await redis.sadd(tagKey(tag), ...keys.map((k) => `${prefix}${k}`));
  }

  const settle = () => new Promise((r) => setTimeout(r, 200));

  it('publishes the versions, purges the tags, then announces, and reports each step in that order', async () => {
    await tagged('product:1', ['{page:1}', '{page:2}']);
    await tagged('product:2', ['{page:3}']);
    const steps: CacheStep[] = [];
    heard.length = 0;

    const purged = await update.apply(
      [at('products', 3n), at('global', 7n)],
      '7.digest',
      ['product:1', 'product:2', 'product:none'],
      (step) => steps.push(step),
    );

    expect(steps).toEqual(['publish', 'purge', 'announce']);
    expect(purged).toEqual({ tags: 3, keys: 3 });
    expect(JSON.parse((await redis.get('shop.version.products')) ?? '{}').version).toBe(3);
    expect(await redis.get('inertia.data.version')).toBe('7.digest');
    for (const key of ['{page:1}', '{page:2}', '{page:3}', tagKey('product:1')])
      expect(await redis.exists(key)).toBe(0);
    await settle();
    expect(heard.map((m) => JSON.parse(m) as unknown)).toEqual([
      { versions: { products: 3, global: 7 }, global: '7.digest' },
    ]);
  });

  it('stops at an error in the versions step: nothing purged, nothing announced', async () => {
    await tagged('product:9', ['{page:9}']);
    // A version value the compare-and-set cannot read: the versions step fails.
    await redis.set('shop.version.categories', 'not json');
    const steps: CacheStep[] = [];
    heard.length = 0;

    await expect(
      update.apply([at('categories', 2n)], '8.digest', ['product:9'], (step) => steps.push(step)),
    ).rejects.toThrow();

    expect(steps).toEqual([]);
    expect(await redis.exists('{page:9}')).toBe(1);
    expect(await redis.exists(tagKey('product:9'))).toBe(1);
    await settle();
    expect(heard).toEqual([]);
  });
});
