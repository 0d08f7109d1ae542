import mysql, { Pool, RowDataPacket } from 'mysql2/promise';
import { ServiceProcess } from './support/service-process';
import { productUpdated } from './support/events';
import { RaceResult, expectNoStaleness, stalenessRace } from './support/staleness-race';
import { mysqlTestOptions } from './support/test-env';
import { VersionAnnouncements } from './support/version-announcements';
import { World } from './support/world';

const PHASE_MS = Number(process.env.TEST_STALENESS_PHASE_MS ?? 8000);
const PRODUCTS = 2;
const FILL_DELAY_MS = 250;

/**
 * The race of test/support/staleness-race.ts with a writer that changes products in MySQL and
 * publishes ProductUpdated, as a shop does.
 */
describe('the client never serves a value older than an announced change (real stack)', () => {
  let world: World;
  let service: ServiceProcess;
  let pool: Pool;
  let announcements: VersionAnnouncements;

  beforeAll(async () => {
    world = await World.create('staleness');
    service = await ServiceProcess.start(world.env);
    await world.sql.query(
      'CREATE TABLE products (id VARCHAR(64) PRIMARY KEY, revision INT NOT NULL)',
    );
    pool = mysql.createPool({ ...mysqlTestOptions(world.env.mysqlUrl), connectionLimit: 8 });
    announcements = await VersionAnnouncements.listen(world.redis);
  });

  afterAll(async () => {
    await announcements?.close();
    await pool?.end();
    await service?.stop();
    await world?.close();
  });

  const revisionOf = async (id: string) => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT revision FROM products WHERE id = ?', [
      id,
    ]);
    return Number(rows[0].revision);
  };

  async function runPhase(name: string, versionCheck: boolean, local = false): Promise<RaceResult> {
    const ids = Array.from({ length: PRODUCTS }, (_, i) => `${name}-${i + 1}`);
    for (const id of ids) await world.sql.query('INSERT INTO products VALUES (?, 1)', [id]);
    return stalenessRace(world, {
      ids,
      versionCheck,
      local,
      phaseMs: PHASE_MS,
      fillDelayMs: FILL_DELAY_MS,
      read: revisionOf,
      change: async (id) => {
        await world.sql.query('UPDATE products SET revision = revision + 1 WHERE id = ?', [id]);
        const revision = await revisionOf(id);
        const before = await announcements.products();
        await world.publish([productUpdated({ productId: id })]);
        // The only writer: the next announcement past `before` is this change's.
        return { version: await announcements.waitProductsAbove(before), revision };
      },
    });
  }

  it('stale reads: 0 with the version check, more than 0 with it turned off, in the same run', async () => {
    const checked = await runPhase('on', true);
    const unchecked = await runPhase('off', false);
    expectNoStaleness('staleness', checked, unchecked, PRODUCTS, 500);
  });

  it('with the in-process tier on in every web server: still 0 stale reads, and the tier answers some', async () => {
    const local = await runPhase('local', true, true);
    console.log(
      `staleness, local tier on: ${local.reads} reads, ${local.localHits} from the tier, ` +
        `${local.staleReads} stale, ${local.changes} changes, ${local.leftStale} of ${PRODUCTS} left stale`,
    );
    expect(local.changes).toBeGreaterThan(10);
    expect(local.reads).toBeGreaterThan(500);
    expect(local.localHits).toBeGreaterThan(0);
    expect(local.staleReads).toBe(0);
    expect(local.leftStale).toBe(0);
  });
});
