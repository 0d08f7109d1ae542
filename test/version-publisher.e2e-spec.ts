import Redis from 'ioredis';
import { VersionPublisher } from '@invalidator/cache';
import { REDIS_SECURITY, REDIS_URL, keyServers, testRedis } from './support/test-env';

describe('VersionPublisher against a real Redis', () => {
  const prefix = `test:publisher:${process.pid}:`;
  // The stack's Redis, or its cluster when the run targets one (TEST_REDIS_CLUSTER_NODES).
  const redis = testRedis(prefix);
  const publisher = new VersionPublisher(redis);
  const at = (dataType: string, version: bigint) => ({
    dataType,
    version,
    hash: `${dataType}-${version}`,
    updatedAt: new Date(),
  });

  afterAll(async () => {
    let plain: Redis | undefined;
    for (const server of keyServers(redis, () => (plain = new Redis(REDIS_URL, REDIS_SECURITY)))) {
      for (const key of await server.keys(`${prefix}*`)) await server.del(key);
    }
    await plain?.quit();
    await redis.quit();
  });

  it('versions in Redis only increase: a late writer with older versions changes nothing', async () => {
    await publisher.publish([at('products', 5n), at('global', 9n)], '9.new');
    // A stalled process (or the fallback path) publishing what it committed earlier.
    await publisher.publish([at('products', 4n), at('global', 8n)], '8.old');

    expect(JSON.parse((await redis.get('shop.version.products')) ?? '{}')).toMatchObject({
      version: 5,
      hash: 'products-5',
    });
    expect(JSON.parse((await redis.get('shop.version.global')) ?? '{}').version).toBe(9);
    expect(await redis.get('inertia.data.version')).toBe('9.new');
  });

  it('a newer version replaces the stored one, and the global string follows global', async () => {
    await publisher.publish([at('products', 6n), at('global', 10n)], '10.newer');
    expect(JSON.parse((await redis.get('shop.version.products')) ?? '{}').version).toBe(6);
    expect(await redis.get('inertia.data.version')).toBe('10.newer');
  });

  it('a lost inertia.data.version is restored only from the global version Redis holds', async () => {
    await redis.del('inertia.data.version');
    // An older global (a stalled writer) may not fill the gap; the current one does.
    await publisher.publish([at('products', 6n), at('global', 9n)], '9.stale');
    expect(await redis.get('inertia.data.version')).toBeNull();
    await publisher.publish([at('products', 6n), at('global', 10n)], '10.newer');
    expect(await redis.get('inertia.data.version')).toBe('10.newer');
  });
});
