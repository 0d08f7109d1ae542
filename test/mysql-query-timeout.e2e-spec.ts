import { DataSource } from 'typeorm';
import { mysqlOptions } from '@invalidator/mysql';
import { TcpProxy } from './support/tcp-proxy';
import { mysqlTestSecurity } from './support/test-env';
import { MIGRATIONS } from './support/versioning-db';
import { World } from './support/world';

const QUERY_TIMEOUT_MS = 1000;

describe('a MySQL statement with no answer', () => {
  let world: World;
  let proxy: TcpProxy;
  let dataSource: DataSource;

  beforeAll(async () => {
    world = await World.create('qtimeout', 1);
    const url = new URL(world.env.mysqlUrl);
    proxy = await TcpProxy.start(url.hostname, Number(url.port));
    url.port = String(proxy.port);
    // One pooled connection: a poisoned one would take every later statement down with it.
    dataSource = new DataSource(
      mysqlOptions(
        {
          MYSQL_URL: url.toString(),
          MYSQL_POOL_SIZE: 1,
          MYSQL_MIGRATIONS_RUN: true,
          MYSQL_QUERY_TIMEOUT_MS: QUERY_TIMEOUT_MS,
          ...mysqlTestSecurity(),
        },
        { migrations: MIGRATIONS },
      ),
    );
    await dataSource.initialize();
  });

  afterAll(async () => {
    proxy?.restore();
    // Bounded: a pool holding a hung connection (the defect this guards against) never ends.
    await Promise.race([
      dataSource?.destroy().catch(() => undefined),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
    await proxy?.close();
    await world?.close();
  });

  it('times out within its bound and destroys its connection, so the pool serves the next statement at once', async () => {
    proxy.blackhole();
    const started = Date.now();
    const hung = await dataSource.query('SELECT 1 AS one').catch((e: unknown) => e);
    const waitedMs = Date.now() - started;
    expect((hung as { driverError?: { code?: string } }).driverError?.code).toBe(
      'PROTOCOL_SEQUENCE_TIMEOUT',
    );
    expect(waitedMs).toBeLessThan(QUERY_TIMEOUT_MS + 1000);

    proxy.restore();
    const next = Date.now();
    const rows: { one: number }[] = await dataSource.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    expect(Date.now() - next).toBeLessThan(QUERY_TIMEOUT_MS);
  }, 15000);
});
