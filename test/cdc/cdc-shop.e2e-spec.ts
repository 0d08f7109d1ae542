import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection, RowDataPacket, createConnection } from 'mysql2/promise';
import { CdcMapping } from '@invalidator/contracts';
import { ServiceProcess } from '../support/service-process';
import { ShopProcess } from '../support/shop-process';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';
import { CATALOG, requireCdcStack } from './cdc-support';

/** The mapping the example shop ships, as the service is given it. */
const MAPPING_FILE = join(__dirname, '..', '..', 'apps', 'example-shop', 'cdc-mapping.json');
const SHOP_MYSQL_URL = `mysql://${CATALOG.user}@${CATALOG.host}:${CATALOG.port}/${CATALOG.database}`;

interface ProductPage {
  id: string;
  price: string;
  categoryIds: string[];
}

/**
 * The example shop with SHOP_EVENTS=cdc on the catalog MariaDB: it writes its rows only, and
 * its pages are purged from the binlog (Debezium → Kafka → the service with its mapping).
 */
describe('example shop with SHOP_EVENTS=cdc (its rows only, invalidated from the binlog)', () => {
  let world: World;
  let service: ServiceProcess;
  let shop: ShopProcess;
  let db: Connection;
  const run = randomUUID().slice(0, 8);
  const topics = (JSON.parse(readFileSync(MAPPING_FILE, 'utf8')) as CdcMapping).topics;

  beforeAll(async () => {
    await requireCdcStack();
    world = await World.create('cdcshop');
    service = await ServiceProcess.start(world.env, { CDC_MAPPING_FILE: MAPPING_FILE });
    shop = await ShopProcess.start(world.env, { SHOP_EVENTS: 'cdc', SHOP_MYSQL_URL });
    db = await createConnection(CATALOG);
  });

  afterAll(async () => {
    await shop?.stop();
    await service?.stop();
    await world?.close();
    await db?.end();
  });

  /** Messages on `topic` so far (the sum of its partitions' ends). */
  const end = async (topic: string) =>
    (await world.admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);

  // Waits are long: Connect reads the one binlog in order, behind what other specs wrote (this
  // spec is about which pages are purged; cdc.e2e-spec.ts holds the 5 s bound).
  const CDC_WAIT_MS = 60000;

  /** The service has committed every change event on the shop's topics so far. */
  async function caughtUp(): Promise<void> {
    for (const topic of topics) {
      const written = await end(topic);
      await waitFor(
        `the service to read ${topic}'s ${written} events`,
        async () => (await world.committedOffsets(topic)) >= written,
        CDC_WAIT_MS,
      );
    }
  }

  /** Rows of the outbox, if the shop has one in this database (in cdc mode it creates none). */
  async function outboxRows(): Promise<number> {
    const [[table]] = await db.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM information_schema.tables
       WHERE table_schema = ? AND table_name = 'outbox'`,
      [CATALOG.database],
    );
    if (Number(table.n) === 0) return 0;
    const [[rows]] = await db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM outbox');
    return Number(rows.n);
  }

  const put = async (path: string, body: unknown) =>
    expect((await shop.request('PUT', path, body)).status).toBe(204);
  const get = async <T>(path: string) => (await (await shop.request('GET', path)).json()) as T;
  const gone = (key: string) =>
    waitFor(`purge of ${key}`, async () => !(await world.exists(key)), CDC_WAIT_MS);

  it('a product moved to another set of categories through the API: its page and the old and new categories’ pages are purged, the next reads fresh, no outbox row', async () => {
    const [c1, c2, c3, c4] = [1, 2, 3, 4].map((n) => `${run}-c${n}`);
    const p = `${run}-p`;
    const outboxBefore = await outboxRows();
    const ends = Object.fromEntries(await Promise.all(topics.map(async (t) => [t, await end(t)])));

    for (const c of [c1, c2, c3, c4]) await put(`/categories/${c}`, { name: `Tea ${c}` });
    await put(`/products/${p}`, { name: 'Green tea', price: 4.5, categoryIds: [c1, c2] });
    // The shop's changes reach the topics (4 categories, the product, 2 pivot rows) and the
    // service applies them and all before: the pages cached next are purged by the move only.
    const pivotTopic = topics.find((t) => t.endsWith('.product_categories')) ?? '';
    await waitFor(
      'the change events of the shop’s writes',
      async () => (await end(pivotTopic)) >= ends[pivotTopic] + 2,
      CDC_WAIT_MS,
    );
    await caughtUp();

    expect(await get<ProductPage>(`/products/${p}`)).toMatchObject({ categoryIds: [c1, c2] });
    expect(await get<ProductPage>(`/products/${p}`)).toMatchObject({ categoryIds: [c1, c2] });
    for (const c of [c1, c2])
      expect(await get<{ products: ProductPage[] }>(`/categories/${c}`)).toMatchObject({
        products: [{ id: p, price: '4.50' }],
      });
    for (const c of [c3, c4])
      expect(await get<{ products: ProductPage[] }>(`/categories/${c}`)).toMatchObject({
        products: [],
      });
    const pages = [`shop:product:${p}`, ...[c1, c2, c3, c4].map((c) => `shop:category:${c}`)];
    for (const key of pages) expect(await world.exists(key)).toBe(true);
    const metrics = await (await shop.request('GET', '/metrics')).text();
    expect(metrics).toMatch(/^cache_client_hits_total [1-9]/m);

    const started = Date.now();
    await put(`/products/${p}`, { name: 'Green tea', price: 4.5, categoryIds: [c3, c4] });
    for (const key of pages) await gone(key);
    console.log(`cdc shop: a category move purged 5 pages in ${Date.now() - started} ms`);

    expect(await get<ProductPage>(`/products/${p}`)).toMatchObject({ categoryIds: [c3, c4] });
    for (const c of [c1, c2])
      expect(await get<{ products: ProductPage[] }>(`/categories/${c}`)).toMatchObject({
        products: [],
      });
    for (const c of [c3, c4])
      expect(await get<{ products: ProductPage[] }>(`/categories/${c}`)).toMatchObject({
        products: [{ id: p, categoryIds: [c3, c4] }],
      });
    // Nothing announced by the shop itself: no outbox row, nothing on the contract's topics.
    expect(await outboxRows()).toBe(outboxBefore);
    expect(await end(world.env.topics.product)).toBe(0);
    expect(await end(world.env.topics.category)).toBe(0);
  });
});
