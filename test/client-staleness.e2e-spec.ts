import mysql, { Pool, RowDataPacket } from 'mysql2/promise';
import { CacheClient } from '@invalidator/client';
import { ServiceProcess } from './support/service-process';
import { productUpdated } from './support/events';
import { mysqlTestOptions, webRedis } from './support/test-env';
import { VersionAnnouncements } from './support/version-announcements';
import { World } from './support/world';

const PHASE_MS = Number(process.env.TEST_STALENESS_PHASE_MS ?? 8000);
const WEB_SERVERS = 3;
const READERS_PER_SERVER = 6;
const PRODUCTS = 2;
/** Every fill waits this long at most between reading MySQL and storing: the race, forced. */
const FILL_DELAY_MS = 250;

interface Product {
  id: string;
  revision: number;
}

interface PhaseResult {
  reads: number;
  staleReads: number;
  changes: number;
  rejectedFills: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writers change products in MySQL and publish ProductUpdated, as a shop does; web servers
 * read them through libs/client with every fill delayed on purpose. A read is stale when it
 * returns a revision older than one whose change was visible to the reader's client (its
 * version announced: written and its tags purged) when the read began.
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

  async function runPhase(name: string, versionCheck: boolean): Promise<PhaseResult> {
    const ids = Array.from({ length: PRODUCTS }, (_, i) => `${name}-${i + 1}`);
    for (const id of ids) await world.sql.query('INSERT INTO products VALUES (?, 1)', [id]);
    /** Each product's announced changes: the products version announced with each revision. */
    const changes = new Map<string, { version: number; revision: number }[]>(
      ids.map((id) => [id, []]),
    );
    /** The newest revision whose change the reader's client had heard announced. */
    const floorOf = (id: string, announced: number) =>
      (changes.get(id) ?? [])
        .filter((c) => c.version <= announced)
        .reduce((floor, c) => Math.max(floor, c.revision), 1);
    const connections = Array.from({ length: WEB_SERVERS }, () => webRedis(world.env.redisPrefix));
    const clients = await Promise.all(
      connections.map((redis) => CacheClient.connect({ redis, versionCheck })),
    );
    const result: PhaseResult = { reads: 0, staleReads: 0, changes: 0, rejectedFills: 0 };
    const until = Date.now() + PHASE_MS;

    const fill = (id: string) => async (): Promise<Product> => {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT id, revision FROM products WHERE id = ?',
        [id],
      );
      await sleep(Math.random() * FILL_DELAY_MS);
      return { id, revision: Number(rows[0].revision) };
    };

    const reader = async (client: CacheClient) => {
      while (Date.now() < until) {
        const id = ids[Math.floor(Math.random() * ids.length)];
        const { announced } = await client.versions();
        const floor = floorOf(id, announced.products ?? 0);
        const product = await client.remember(
          `product:${id}`,
          { tags: [`product:${id}`], ttl: 60, types: ['products'] },
          fill(id),
        );
        result.reads += 1;
        if (product.revision < floor) result.staleReads += 1;
        await sleep(2);
      }
    };

    const writer = async () => {
      for (let n = 0; Date.now() < until; n++) {
        const id = ids[n % ids.length];
        await world.sql.query('UPDATE products SET revision = revision + 1 WHERE id = ?', [id]);
        const [[row]] = await world.sql.query<RowDataPacket[]>(
          'SELECT revision FROM products WHERE id = ?',
          [id],
        );
        const before = await announcements.products();
        await world.publish([productUpdated({ productId: id })]);
        // The only writer: the next announcement past `before` is this change's.
        const version = await announcements.waitProductsAbove(before);
        changes.get(id)?.push({ version, revision: Number(row.revision) });
        result.changes += 1;
        await sleep(Math.random() * 50);
      }
    };

    await Promise.all([
      writer(),
      ...clients.flatMap((client) =>
        Array.from({ length: READERS_PER_SERVER }, () => reader(client)),
      ),
    ]);
    for (const client of clients) {
      result.rejectedFills += client.stats().staleFillsRejected;
      await client.close();
    }
    for (const redis of connections) await redis.quit();
    return result;
  }

  it('stale reads: 0 with the version check, more than 0 with it turned off, in the same run', async () => {
    const checked = await runPhase('on', true);
    const unchecked = await runPhase('off', false);
    console.log(
      `staleness: with the check ${checked.reads} reads, ${checked.staleReads} stale, ` +
        `${checked.rejectedFills} fills rejected, ${checked.changes} changes; ` +
        `without it ${unchecked.reads} reads, ${unchecked.staleReads} stale, ` +
        `${unchecked.changes} changes`,
    );

    expect(checked.changes).toBeGreaterThan(10);
    expect(unchecked.changes).toBeGreaterThan(10);
    expect(checked.reads).toBeGreaterThan(500);
    expect(unchecked.reads).toBeGreaterThan(500);
    expect(checked.rejectedFills).toBeGreaterThan(0);
    expect(checked.staleReads).toBe(0);
    expect(unchecked.staleReads).toBeGreaterThan(0);
  });
});
