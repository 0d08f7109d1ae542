import { globalVersionString } from '@invalidator/versioning';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { PrivateRedis } from '../support/private-redis';
import { ServiceProcess } from '../support/service-process';
import { freePort, waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

const REPUBLISH_BOUND_MS = 15000;

describe('Redis restarted empty (kill -9, no persistence)', () => {
  let redis: PrivateRedis;
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    world = await World.create('redisrestart', 3, { redisUrl: redis.url });
    world.redis.on('error', () => undefined);
    service = await ServiceProcess.start(world.env, { RETRY_MAX_DELAY_MS: '1000' });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close().catch(() => undefined);
    await redis?.kill();
  });

  /** What MySQL says Redis must show: each type's version and the global string. */
  const expected = async () => {
    const rows = await world.query<{ data_type: string; version: string }>(
      'SELECT data_type, version FROM shop_data_versions ORDER BY data_type',
    );
    const versions = rows.map((r) => ({ dataType: r.data_type, version: BigInt(r.version) }));
    return {
      keys: ['inertia.data.version', ...versions.map((v) => `shop.version.${v.dataType}`)],
      values: [globalVersionString(versions), ...versions.map((v) => Number(v.version))],
    };
  };
  const published = async (keys: string[]) => {
    const values = await world.redis.mget(...keys);
    return values.map((v, i) =>
      i === 0 ? v : v && (JSON.parse(v) as { version: number }).version,
    );
  };

  it('republishes every version and inertia.data.version from MySQL on reconnect, with no new event, and keeps applying events', async () => {
    const before = mixedLoad(400, 'a');
    await publishInBackground(world, before, 100, 20);
    await waitFor(
      'the first events applied',
      async () => (await world.inboxCount()) === before.length,
      120000,
    );
    const want = await expected();
    await waitFor('Redis in step with MySQL', async () => {
      return JSON.stringify(await published(want.keys)) === JSON.stringify(want.values);
    });
    expect(want.values.slice(1).every((v) => Number(v) > 0)).toBe(true);

    const killed = Date.now();
    await redis.kill();
    await redis.start();
    const restarted = Date.now();

    // No event is published here: only the service's reconnect can bring the versions back.
    await waitFor(
      'the versions republished',
      async () => JSON.stringify(await published(want.keys)) === JSON.stringify(want.values),
      REPUBLISH_BOUND_MS,
      100,
    );
    const republishMs = Date.now() - killed;
    // Once at start-up, once on the reconnect.
    expect(service.logLines('redis ready; versions republished from MySQL').length).toBe(2);
    expect(await world.inboxCount()).toBe(before.length);
    expect(await published(want.keys)).toEqual(want.values);
    console.log(
      `redis restart: versions republished within ${republishMs} ms of the kill (restart took ${restarted - killed} ms)`,
    );

    const after = mixedLoad(400, 'b');
    const tags = await seedTags(world, after);
    await drainAndCheck(world, {
      case: 'redis-restart',
      events: [...before, ...after],
      tags,
      faults: `redis kill -9 + empty restart; versions republished within ${republishMs} ms`,
      faultEnded: restarted,
      publishing: publishInBackground(world, after, 100, 20),
    });
    const final = await expected();
    expect(await published(final.keys)).toEqual(final.values);
  });
});
