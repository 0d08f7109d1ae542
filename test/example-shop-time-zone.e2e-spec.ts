import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { createShopPool } from '../apps/example-shop/src/shop-pool';
import { mysqlTestOptions } from './support/test-env';
import { World } from './support/world';

/** The example shop's own MySQL pool (it shares no code with the service's): sessions in UTC. */
describe("the example shop's MySQL sessions", () => {
  let world: World;

  beforeAll(async () => {
    world = await World.create('shoptz');
  });

  afterAll(async () => {
    await world?.close();
  });

  it("the shop's pool: sessions in UTC, and a time it wrote reads back as the same instant in any process zone", async () => {
    const zone = process.env.TZ;
    // A shop process in India: DATETIMEs read as local time would be 5.5 hours off.
    process.env.TZ = 'Asia/Kolkata';
    const pool: Pool = createShopPool(mysqlTestOptions(world.env.mysqlUrl));
    const held: PoolConnection[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await pool.getConnection());
      for (const connection of held) {
        const [[row]] = await connection.query<RowDataPacket[]>(
          'SELECT @@session.time_zone AS tz, NOW(6) AS now',
        );
        expect(row.tz).toBe('+00:00');
        expect(Math.abs((row.now as Date).getTime() - Date.now())).toBeLessThan(60000);
      }
    } finally {
      held.forEach((c) => c.release());
      await pool.end();
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});
