import { randomUUID } from 'node:crypto';
import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AppConfig, parseConfig } from '@invalidator/config';
import { FenceTokenRepository, LockLostError, LockService } from '@invalidator/locking';
import { StaleFenceError, VersionRepository } from '@invalidator/versioning';
import { freePort, waitFor } from './support/test-env';
import { migratedDataSource } from './support/versioning-db';
import { World } from './support/world';

/** A private Redis that keeps nothing on disk, so kill -9 really loses everything. */
async function privateRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis({
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  await waitFor('private redis', async () => {
    await probe.connect().catch(() => undefined);
    return (await probe.ping()) === 'PONG';
  });
  probe.disconnect();
  return child;
}

describe('lock layer against real Redis and MariaDB', () => {
  let world: World;
  let dataSource: DataSource;
  let versions: VersionRepository;
  let fences: FenceTokenRepository;
  const config: AppConfig = parseConfig({ LOCK_TTL_MS: '300', LOCK_RETRY_ATTEMPTS: '0' });
  const longConfig: AppConfig = parseConfig({ LOCK_TTL_MS: '30000', LOCK_RETRY_ATTEMPTS: '0' });

  beforeAll(async () => {
    world = await World.create('locks', 1);
    dataSource = await migratedDataSource(world.env.mysqlUrl);
    versions = new VersionRepository(dataSource);
    fences = new FenceTokenRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await world?.close();
  });

  it("fencing tokens (each bump's own, from MySQL) strictly increase, across a Redis kill -9 without persistence", async () => {
    const port = await freePort();
    let redisServer = await privateRedis(port);
    const redis = new Redis({ port, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    const locks = new LockService(redis, config, fences);
    let offset = 1000;
    const bumpUnder = async () => {
      const lock = await locks.acquire(['products']);
      const { fenceToken } = await versions.bumpVersions({
        events: [
          {
            eventId: randomUUID(),
            topic: 't',
            partition: 1,
            offset: String(offset++),
            dataTypes: ['products'],
          },
        ],
        actor: 'tokens',
        lockWaitTimeoutMs: 2000,
        beforeCommit: () => lock.ensureValid(50),
      });
      await lock.release();
      return fenceToken;
    };
    try {
      const tokens: bigint[] = [];
      for (let i = 0; i < 3; i++) tokens.push(await bumpUnder());
      redisServer.kill('SIGKILL');
      await new Promise((r) => redisServer.once('exit', r));
      redisServer = await privateRedis(port);
      await waitFor('the client to reconnect', async () => (await redis.ping()) === 'PONG');
      expect(await redis.dbsize()).toBe(0);
      tokens.push(await bumpUnder());
      tokens.push(await locks.nextFenceToken());
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
    } finally {
      redis.disconnect();
      redisServer.kill('SIGKILL');
    }
  });

  it('a holder that stalls past its TTL cannot commit, and an older token cannot overwrite a newer version', async () => {
    const redis = new Redis(world.env.redisUrl, { keyPrefix: world.env.redisPrefix });
    const locks = new LockService(redis, config, fences);
    try {
      const stalled = await locks.acquire(['products', 'global']);
      await new Promise((r) => setTimeout(r, 400)); // past the 300 ms TTL: a GC pause, a SIGSTOP
      // The new holder's TTL is long: its lock must outlive the rest of the case however slow
      // the machine (with 300 ms it expired under load before the checks below).
      const fresh = await new LockService(redis, longConfig, fences).acquire([
        'products',
        'global',
      ]);
      const entry = (id: string) => ({
        eventId: id,
        topic: 't',
        partition: 0,
        // Distinct offsets: two events, not one redelivered (the offset ledger skips those).
        offset: String(Number(id.slice(-12))),
        dataTypes: ['products', 'global'],
      });
      const committed = await versions.bumpVersions({
        events: [entry('11111111-0000-4000-8000-000000000001')],
        actor: 'fresh',
        lockWaitTimeoutMs: 2000,
        beforeCommit: () => fresh.ensureValid(100),
      });
      const newer = await world.versions();

      // The stalled holder's transaction is refused at its commit: its lock is gone.
      await expect(
        versions.bumpVersions({
          events: [entry('11111111-0000-4000-8000-000000000002')],
          actor: 'stalled',
          lockWaitTimeoutMs: 2000,
          beforeCommit: () => stalled.ensureValid(100),
        }),
      ).rejects.toBeInstanceOf(LockLostError);
      // A token older than the rows' (taken before the fresh bump) never overwrites them.
      await expect(
        versions.bumpVersions({
          events: [entry('11111111-0000-4000-8000-000000000003')],
          fenceToken: committed.fenceToken - 1n,
          actor: 'stalled',
          lockWaitTimeoutMs: 2000,
        }),
      ).rejects.toBeInstanceOf(StaleFenceError);
      await expect(stalled.ensureValid(100)).rejects.toBeInstanceOf(LockLostError);
      expect(await world.versions()).toEqual(newer);

      // Releasing the expired lock ends at once with a typed result and leaves the new holder's lock alone.
      const started = Date.now();
      expect(await stalled.release()).toBe('expired');
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await redis.exists('lock:shop.version.products')).toBe(1);
      expect(await fresh.release()).toBe('released');
      expect(await redis.exists('lock:shop.version.products')).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
