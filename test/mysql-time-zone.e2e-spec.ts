import { DataSource, QueryRunner } from 'typeorm';
import { mysqlOptions } from '@invalidator/mysql';
import { mysqlTestSecurity } from './support/test-env';
import { World } from './support/world';

/**
 * Times are written with NOW(6) and read as UTC: on a server whose zone is not UTC, a session in
 * the server's zone would shift every stored time, retention window and published `updatedAt`.
 */
describe('every MySQL session in UTC', () => {
  let world: World;

  beforeAll(async () => {
    world = await World.create('tz');
  });

  afterAll(async () => {
    await world?.close();
  });

  it("the service's pools (mysqlOptions: sagas, lookups, CLI): each connection's session time_zone is +00:00", async () => {
    const source = new DataSource(
      mysqlOptions({
        MYSQL_URL: world.env.mysqlUrl,
        MYSQL_POOL_SIZE: 3,
        MYSQL_MIGRATIONS_RUN: false,
        ...mysqlTestSecurity(),
      }),
    );
    await source.initialize();
    const runners: QueryRunner[] = [];
    try {
      // Three connections at once: the pool's first (made at initialize) and two new ones.
      for (let i = 0; i < 3; i++) {
        const runner = source.createQueryRunner();
        await runner.connect();
        runners.push(runner);
      }
      const zones = await Promise.all(
        runners.map(
          async (r) =>
            (
              (await r.query('SELECT @@session.time_zone AS tz, CONNECTION_ID() AS id')) as {
                tz: string;
                id: string;
              }[]
            )[0],
        ),
      );
      expect(new Set(zones.map((z) => z.id)).size).toBe(3);
      expect(zones.map((z) => z.tz)).toEqual(['+00:00', '+00:00', '+00:00']);
    } finally {
      for (const runner of runners) await runner.release();
      await source.destroy();
    }
  });
});
