import Redis from 'ioredis';
import { StalenessSampler } from '@invalidator/cache';
import { parseConfig } from '@invalidator/config';
import { LockSweeper } from '@invalidator/locking';
import { PrivateRedis } from '../support/private-redis';
import { ServiceProcess } from '../support/service-process';
import { freePort } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

/** Tag sets in the private Redis: far more than any bounded background step may read. */
const TAG_SETS = 200000;
const TOKEN = 'large-keyspace-admin-token';

/** Calls of a command since the server started, from INFO commandstats. */
async function calls(redis: Redis, command: string): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}

/**
 * Background work (the staleness sample, the lock sweep, the dashboard's lock list) is bounded
 * by the service's own work, not by the size of the cache: with many tag sets in Redis (a
 * private redis-server; the stack's is never filled), what each step sends stays flat.
 */
describe('background work with a large keyspace', () => {
  let privateRedis: PrivateRedis;
  let world: World;
  let admin: Redis;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    privateRedis = new PrivateRedis(await freePort());
    await privateRedis.start();
    world = await World.create('keyspace', 1, { redisUrl: privateRedis.url });
    admin = new Redis(privateRedis.url);
    // Small sets of integers (intsets), written by the server itself: quick and compact.
    const fill = `
      for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
        redis.call('SADD', ARGV[1] .. 'shop.tag.filler:' .. i, i)
      end`;
    for (let from = 1; from <= TAG_SETS; from += 50000)
      await admin.eval(fill, 0, world.env.redisPrefix, from, Math.min(from + 49999, TAG_SETS));
  });

  afterAll(async () => {
    await service?.stop();
    admin?.disconnect();
    await world?.close().catch(() => undefined);
    await privateRedis?.kill();
  });

  it('a staleness sample reads a bounded number of keys, whatever the number of tag sets', async () => {
    const config = parseConfig({ REDIS_KEY_PREFIX: world.env.redisPrefix });
    const sampler = new StalenessSampler(world.redis, config);
    const before = await calls(admin, 'scan');
    const sample = await sampler.sample(100);
    const scans = (await calls(admin, 'scan')) - before;
    // The fillers' members are not cache entries: every draw is skipped, none is sampled.
    expect(sample).toMatchObject({ sampled: 0 });
    expect(sample.skipped).toBeGreaterThan(0);
    expect(scans).toBeLessThanOrEqual(16);
  });

  it('the lock sweep and the lock list read the lock keys of known types, never the keyspace', async () => {
    const sweeper = new LockSweeper(world.redis);
    await world.redis.set('lock:shop.version.global', 'left-behind');
    await world.redis.set('lock:shop.version.products', 'held', 'PX', 5000);
    const types = ['categories', 'global', 'products'];
    const before = await calls(admin, 'scan');

    expect((await sweeper.held(types)).map((l) => l.dataType).sort()).toEqual([
      'global',
      'products',
    ]);
    expect(await sweeper.sweep(types)).toEqual([
      { key: 'lock:shop.version.global', reason: 'no_ttl', ttlMs: -1 },
    ]);
    expect((await calls(admin, 'scan')) - before).toBe(0);
    await world.redis.del('lock:shop.version.products');
  });

  it('the service with a dashboard open keeps its Redis command rate flat', async () => {
    service = await ServiceProcess.start(world.env, {
      ADMIN_TOKEN: TOKEN,
      STALENESS_SAMPLE_INTERVAL_MS: '1000',
      LOCK_SWEEP_INTERVAL_MS: '1000',
    });
    await world.redis.set('lock:shop.version.categories', 'held', 'PX', 60000);
    const before = { scans: await calls(admin, 'scan'), at: Date.now() };
    // A dashboard page asks for the shared figures about once a second; four pages here.
    const deadline = Date.now() + 10000;
    const listed = new Set<string>();
    while (Date.now() < deadline) {
      const snapshot = await fetch(`${service.url}/dashboard/snapshot`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(snapshot.status).toBe(200);
      const body = (await snapshot.json()) as { shared: { locks: { dataType: string }[] | null } };
      for (const lock of body.shared.locks ?? []) listed.add(lock.dataType);
      await new Promise((r) => setTimeout(r, 250));
    }
    // The held lock is listed: the page still shows what it showed before.
    expect([...listed]).toEqual(['categories']);
    const scans = (await calls(admin, 'scan')) - before.scans;
    const seconds = (Date.now() - before.at) / 1000;
    console.log(`large keyspace: ${TAG_SETS} tag sets, ${scans} SCAN calls in ${seconds} s`);
    // About 10 staleness samples and 10 sweeps in the window: a few SCAN steps each at most.
    expect(scans).toBeLessThanOrEqual(12 * 16);
  });
});
