import Redis from 'ioredis';
import { Registry } from 'prom-client';
import { VersionPublisher } from '@invalidator/cache';
import { CLIENT_METRICS, CacheClient, decodeHeader } from '@invalidator/client';
import {
  REDIS_SECURITY,
  REDIS_URL,
  keyServers,
  testRedis,
  waitFor,
  webRedis,
} from './support/test-env';

/**
 * libs/client against the stack's Redis (or its cluster when the run targets one), as a web
 * server connects (on the secured stack: TLS, the web tier's ACL user); the service's side and
 * the checks through the test support's own client.
 */
describe('CacheClient against a real Redis', () => {
  const prefix = `test:client:${process.pid}:`;
  const web = webRedis(prefix);
  const redis = testRedis(prefix);
  const publisher = new VersionPublisher(redis);
  let version = 1n;
  const bump = async (dataType = 'products') => {
    version += 1n;
    const published = [{ dataType, version, hash: `h${version}`, updatedAt: new Date() }];
    await publisher.publish(published, `${version}.x`);
    return published;
  };
  let registry: Registry;
  let client: CacheClient;

  beforeEach(async () => {
    registry = new Registry();
    client = await CacheClient.connect({ redis: web, registry, versionMemoMs: 60000 });
  });

  afterEach(() => client.close());

  afterAll(async () => {
    let plain: Redis | undefined;
    for (const server of keyServers(redis, () => (plain = new Redis(REDIS_URL, REDIS_SECURITY)))) {
      for (const key of await server.keys(`${prefix}*`)) await server.del(key);
    }
    await plain?.quit();
    await redis.quit();
    await web.quit();
  });

  it('a miss fills, stores, tags the key, and the next read is a hit', async () => {
    let fills = 0;
    const fill = async () => ({ name: 'tea', fills: ++fills });

    const first = await client.remember('page:tea', { tags: ['product:tea'], ttl: 30 }, fill);
    const second = await client.remember('page:tea', { tags: ['product:tea'], ttl: 30 }, fill);

    expect(first).toEqual({ name: 'tea', fills: 1 });
    expect(second).toEqual(first);
    expect(await redis.smembers('shop.tag.product:tea')).toEqual([`${prefix}page:tea`]);
    expect(client.stats()).toMatchObject({ hits: 1, misses: 1, staleFillsRejected: 0 });
    const metrics = await registry.getMetricsAsJSON();
    const hits = metrics.find((m) => m.name === CLIENT_METRICS.hits);
    expect(hits?.values[0].value).toBe(1);
  });

  it('a fill during which a noted version moved is returned but not stored, and counted', async () => {
    const value = await client.remember(
      'page:coffee',
      { tags: ['product:coffee'], ttl: 30, types: ['products'] },
      async () => {
        await bump('products');
        return { name: 'coffee', revision: 1 };
      },
    );

    expect(value).toEqual({ name: 'coffee', revision: 1 });
    expect(await redis.exists('page:coffee')).toBe(0);
    expect(await redis.exists('shop.tag.product:coffee')).toBe(0);
    expect(client.stats().staleFillsRejected).toBe(1);
  });

  it('tag sets never lack a TTL and outlive their longest member', async () => {
    await client.remember('page:long', { tags: ['shared'], ttl: 300 }, async () => 'long');
    await client.remember('page:short', { tags: ['shared'], ttl: 10 }, async () => 'short');

    const setTtl = await redis.ttl('shop.tag.shared');
    const longest = Math.max(await redis.ttl('page:long'), await redis.ttl('page:short'));
    expect(setTtl).toBeGreaterThanOrEqual(longest);
    expect(setTtl).toBeLessThanOrEqual(86400);
  });

  it('one fill in flight per key: concurrent misses share it', async () => {
    let fills = 0;
    const fill = async () => {
      fills += 1;
      await new Promise((r) => setTimeout(r, 50));
      return 'shared';
    };

    const values = await Promise.all(
      Array.from({ length: 10 }, () => client.remember('page:once', { ttl: 30 }, fill)),
    );

    expect(values).toEqual(Array(10).fill('shared'));
    expect(fills).toBe(1);
  });

  it('large values are stored compressed, counted in bytes saved, and read back whole', async () => {
    const big = { description: 'a fine tea from the hills '.repeat(400) };

    await client.remember('page:big', { ttl: 30 }, async () => big);
    const stored = await redis.getBuffer('page:big');
    const again = await client.remember('page:big', { ttl: 30 }, async () => 'not called');

    expect(again).toEqual(big);
    expect(stored?.length).toBeLessThan(JSON.stringify(big).length / 4);
    expect(client.stats().compressedBytesSaved).toBeGreaterThan(JSON.stringify(big).length / 2);
    expect(decodeHeader(stored as Buffer).versions).toHaveProperty('global');
  });

  it('versioned keys follow an announced bump at once, memo or not', async () => {
    const before = await client.key('categories', 'list');
    const published = await bump('categories');
    await publisher.announce(published, `${version}.x`);

    await waitFor(
      'the announced version in the client',
      async () => (await client.key('categories', 'list')) !== before,
      2000,
      5,
    );
    expect(await client.key('categories', 'list')).toBe(`categories:v${version}:list`);
  });

  it('a type outside the configured ones is read from Redis when first used, not taken as 0', async () => {
    const published = [{ dataType: 'reviews', version: 7n, hash: 'r7', updatedAt: new Date() }];
    await publisher.publish(published, `${version}.x`);

    expect(await client.key('reviews', 'top')).toBe('reviews:v7:top');
  });
});
