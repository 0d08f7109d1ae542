import mysql from 'mysql2/promise';
import { runCli } from './support/cli-process';
import { ServiceProcess } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { waitFor, mysqlTestOptions } from './support/test-env';
import { World } from './support/world';

jest.setTimeout(120000);

const TOKEN = 'test-admin-token-0123456789';

interface BumpBody {
  versions: { dataType: string; version: number; hash: string }[];
  idempotencyKey?: string;
  replayed: boolean;
}

const bump = (service: ServiceProcess, types: string[], key?: string) =>
  fetch(`${service.url}/admin/versions/bump`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${TOKEN}`,
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify({ types }),
  });

describe('manual bumps with an Idempotency-Key', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('idem', 1);
    service = await ServiceProcess.start(world.env, { ADMIN_TOKEN: TOKEN });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('the same key twice bumps once and returns the earlier outcome', async () => {
    const before = await world.versions();
    const first = await bump(service, ['products'], 'order-42/retry-safe');
    const again = await bump(service, ['products'], 'order-42/retry-safe');
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(await world.versions()).toEqual({
      ...before,
      global: before.global + 1,
      products: before.products + 1,
    });
    expect((await world.audit()).filter((a) => a.actor === 'admin')).toHaveLength(2);

    const applied = (await first.json()) as BumpBody;
    expect(applied).toMatchObject({ idempotencyKey: 'order-42/retry-safe', replayed: false });
    expect(applied.versions.map((v) => [v.dataType, v.version])).toEqual([
      ['global', before.global + 1],
      ['products', before.products + 1],
    ]);
    expect((await again.json()) as BumpBody).toMatchObject({
      versions: applied.versions,
      idempotencyKey: 'order-42/retry-safe',
      replayed: true,
    });

    // Another key is another bump; the same key for other types is refused.
    expect((await bump(service, ['products'], 'order-43')).status).toBe(200);
    expect((await world.versions()).products).toBe(before.products + 2);
    const reused = await bump(service, ['categories'], 'order-42/retry-safe');
    expect(reused.status).toBe(422);
    expect((await world.versions()).categories).toBe(before.categories);
  });

  it('a malformed key is refused (400) and bumps nothing', async () => {
    const before = await world.versions();
    for (const key of ['', 'has space', 'x'.repeat(129), 'tab\tkey', 'é']) {
      const res = await bump(service, ['products'], key);
      expect([key, res.status]).toEqual([key, 400]);
      expect(JSON.stringify(await res.json())).toContain('Idempotency-Key');
    }
    expect((await bump(service, ['products'], 'k'.repeat(128))).status).toBe(200);
    expect((await world.versions()).products).toBe(before.products + 1);
  });

  it('the CLI bump passes a key of its own through the inbox', async () => {
    const before = await world.inboxCount();
    const run = await runCli(world.env, ['bump', 'categories']);
    expect({ code: run.code, err: run.stderr }).toMatchObject({ code: 0 });
    const rows = await world.query<{ topic: string; partition: number }>(
      'SELECT topic, `partition` FROM processed_events',
    );
    expect(await world.inboxCount()).toBe(before + 1);
    expect(rows.filter((r) => r.topic === 'manual-bump')).toHaveLength(before + 1);
  });
});

describe('a manual bump whose Redis publish fails after COMMIT', () => {
  let world: World;
  let proxy: TcpProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('idemcut', 1);
    const url = new URL(world.env.redisUrl);
    proxy = await TcpProxy.start(url.hostname, Number(url.port));
    url.port = String(proxy.port);
    service = await ServiceProcess.start(world.env, {
      ADMIN_TOKEN: TOKEN,
      REDIS_URL: url.toString(),
      RETRY_MAX_DELAY_MS: '500',
      BREAKER_COOLDOWN_MS: '500',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await world?.close();
  });

  it('is retried and applies once', async () => {
    const before = await world.versions();
    // Hold a version row so the bump waits inside its transaction, past its Redis lock.
    const blocker = await mysql.createConnection(mysqlTestOptions(world.env.mysqlUrl));
    await blocker.query('START TRANSACTION');
    await blocker.query("SELECT * FROM shop_data_versions WHERE data_type = 'global' FOR UPDATE");
    const response = bump(service, ['products'], 'cut-after-commit');
    await waitFor(
      'the bump to wait for the row lock',
      async () => {
        const [row] = await world.query<{ n: number }>(
          `SELECT COUNT(*) AS n FROM information_schema.processlist
           WHERE db = ? AND id <> CONNECTION_ID() AND info LIKE '%shop_data_versions%FOR UPDATE%'`,
          [world.env.database],
        );
        return Number(row.n) > 0;
      },
      20000,
      50,
    );
    // Redis goes away; the transaction then commits and the publish after it fails.
    proxy.cut();
    await blocker.query('COMMIT');
    await blocker.end();
    await waitFor(
      'the bump committed',
      async () => (await world.versions()).products === before.products + 1,
      10000,
      50,
    );
    await new Promise((r) => setTimeout(r, 2000)); // retries while Redis is away
    proxy.restore();

    const res = await response;
    expect(res.status).toBe(200);
    const body = (await res.json()) as BumpBody;
    expect(body.versions.map((v) => [v.dataType, v.version])).toEqual([
      ['global', before.global + 1],
      ['products', before.products + 1],
    ]);
    expect(await world.versions()).toEqual({
      ...before,
      global: before.global + 1,
      products: before.products + 1,
    });
    expect((await world.audit()).map((a) => [a.data_type, Number(a.new_version)])).toEqual([
      ['global', before.global + 1],
      ['products', before.products + 1],
    ]);
    expect(JSON.parse((await world.redis.get('shop.version.products')) ?? '{}').version).toBe(
      before.products + 1,
    );
    expect(await service.metric('invalidator_saga_retries_total')).toBeGreaterThan(0);
  });
});
