import { VERSIONS_CHANNEL } from '@invalidator/client';
import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { WebProcess, WebState } from './support/web-process';
import { World } from './support/world';

/** How long a web server's lost connection stays away before ioredis reconnects it. */
const RECONNECT_MS = 3000;

/**
 * libs/client's in-process tier in two web servers, each a process of its own, on the real
 * Redis with the real service: a change published to Kafka is bumped, purged and announced by
 * the service, and each process drops its local entry as it hears the announcement; a web
 * server whose subscriber connection is killed empties its tier and bypasses it until it is
 * subscribed again.
 */
describe('the client local tier stays coherent across web server processes (real stack)', () => {
  let world: World;
  let service: ServiceProcess;
  let a: WebProcess;
  let b: WebProcess;
  const name = `local-tier-${process.pid}`;

  beforeAll(async () => {
    world = await World.create('local-tier');
    service = await ServiceProcess.start(world.env);
    [a, b] = await Promise.all([
      WebProcess.start(world.env, `${name}-a`, RECONNECT_MS),
      WebProcess.start(world.env, `${name}-b`, RECONNECT_MS),
    ]);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await service?.stop();
    await world?.close();
  });

  const revision = (state: WebState & { value?: unknown }) =>
    (state.value as { revision: number }).revision;

  it('a change announced: each process has dropped its local entry by the time it hears the announcement', async () => {
    const key = 'product:lt-1';
    // a fills (Redis and its tier); b reads a's entry from Redis into its own tier.
    expect(await a.read(key, 1)).toMatchObject({ value: { revision: 1 }, stats: { misses: 1 } });
    expect(await b.read(key, 1)).toMatchObject({ value: { revision: 1 }, stats: { hits: 1 } });
    for (const web of [a, b]) {
      const again = await web.read(key, 99);
      expect(revision(again)).toBe(1);
      expect(again.stats.localHits).toBe(1);
      expect(again.tier).toMatchObject({ entries: 1, listening: true });
    }
    // Both are subscribed: the service's PUBLISH reaches two receivers at least.
    const channel = `${world.env.redisPrefix}${VERSIONS_CHANNEL}`;
    const [, receivers] = (await world.redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    expect(Number(receivers)).toBeGreaterThanOrEqual(2);

    const before = (await world.versions()).products ?? 0;
    const heard = Promise.all([a.heard(before), b.heard(before)]);
    await world.publish([productUpdated({ productId: 'lt-1' })]);
    const receipts = await heard;

    // Each process's receipt of the announcement (its subscriber's message handler) is what
    // drops the entry: the first moment it knows of the change, the entry is already gone.
    for (const receipt of receipts) {
      expect(receipt.announced).toBeGreaterThan(before);
      expect(receipt.tier).toMatchObject({ entries: 0, bytes: 0, listening: true });
      expect(receipt.stats.localHits).toBe(1);
    }
    // The next read in each is the new revision: a's fill, then b's Redis hit of it.
    expect(await a.read(key, 2)).toMatchObject({ value: { revision: 2 }, stats: { localHits: 1 } });
    expect(await b.read(key, 3)).toMatchObject({ value: { revision: 2 }, stats: { localHits: 1 } });
    expect(revision(await b.read(key, 3))).toBe(2);
    expect((await b.state()).stats.localHits).toBe(2);
  });

  /** The id of the process's subscriber connection, from CLIENT LIST (by its name). */
  async function subscriberOf(web: WebProcess): Promise<string> {
    return waitFor(`${web.name}'s subscriber connection`, async () => {
      const list = (await world.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
      const line = list.split('\n').find((l) => l.includes(` name=${web.name} `));
      return line ? /^id=(\d+)/.exec(line)?.[1] : undefined;
    });
  }

  it('a lost subscription drops the whole tier and bypasses it until it is subscribed again', async () => {
    const keys = ['product:lt-2', 'product:lt-3'];
    for (const key of keys) await a.read(key, 1);
    const filled = await a.read(keys[0], 99);
    expect(filled.tier).toMatchObject({ entries: 3, listening: true });
    const localHits = filled.stats.localHits;
    const subscriber = await subscriberOf(a);

    await world.redis.call('CLIENT', 'KILL', 'ID', subscriber);
    const lost = await waitFor(
      'a to see its subscription lost',
      async () => {
        const state = await a.state();
        return state.tier?.listening === false ? state : undefined;
      },
      10000,
      20,
    );
    expect(lost.tier).toEqual({ entries: 0, bytes: 0, listening: false });

    // While it is away: read from Redis, and nothing kept, however often read.
    for (let i = 0; i < 2; i++) {
      const bypassed = await a.read(keys[0], 99);
      expect(revision(bypassed)).toBe(1);
      expect(bypassed.stats.localHits).toBe(localHits);
      expect(bypassed.tier).toEqual({ entries: 0, bytes: 0, listening: false });
    }
    // b's subscription was not touched: its tier still holds its entry.
    expect((await b.state()).tier).toMatchObject({ entries: 1, listening: true });

    // Reconnected and subscribed again: the tier is used once more.
    await waitFor(
      'a to be subscribed again',
      async () => (await a.state()).tier?.listening,
      30000,
      50,
    );
    expect(await subscriberOf(a)).not.toBe(subscriber);
    await a.read(keys[0], 99);
    const again = await a.read(keys[0], 99);
    expect(revision(again)).toBe(1);
    expect(again.stats.localHits).toBe(localHits + 1);
    expect(again.tier).toMatchObject({ entries: 1, listening: true });
  });
});
