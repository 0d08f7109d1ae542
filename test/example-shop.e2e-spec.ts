import mysql from 'mysql2/promise';
import { ServiceProcess } from './support/service-process';
import { ShopProcess } from './support/shop-process';
import { MYSQL_ROOT_URL, mysqlTestOptions } from './support/test-env';
import { VersionAnnouncements } from './support/version-announcements';
import { World } from './support/world';

interface ProductPage {
  id: string;
  name: string;
  price: string;
  categoryIds: string[];
}

/** The worked example: the shop changes its catalog, the service invalidates, the shop reads fresh. */
describe('example shop on the real stack', () => {
  let world: World;
  let service: ServiceProcess;
  let shop: ShopProcess;
  let announcements: VersionAnnouncements;

  beforeAll(async () => {
    world = await World.create('shop');
    service = await ServiceProcess.start(world.env);
    announcements = await VersionAnnouncements.listen(world.redis);
    shop = await ShopProcess.start(world.env);
  });

  afterAll(async () => {
    await shop?.stop();
    await announcements?.close();
    await service?.stop();
    const root = await mysql.createConnection(mysqlTestOptions(MYSQL_ROOT_URL));
    await root.query(`DROP DATABASE IF EXISTS \`${shop?.database}\``);
    await root.end();
    await world?.close();
  });

  async function changeAndWait(path: string, body: unknown): Promise<void> {
    const before = await announcements.products();
    const res = await shop.request('PUT', path, body);
    expect(res.status).toBe(204);
    await announcements.waitProductsAbove(before);
  }

  const get = async <T>(path: string) => (await (await shop.request('GET', path)).json()) as T;

  it('a product changed through the shop is fresh on the next read, on its page and its category’s', async () => {
    await changeAndWait('/categories/7', { name: 'Tea' });
    await changeAndWait('/products/123', { name: 'Green tea', price: 4.5, categoryId: '7' });

    expect(await get<ProductPage>('/products/123')).toMatchObject({ price: '4.50' });
    expect(await get<ProductPage>('/products/123')).toMatchObject({ price: '4.50' });
    expect(await get<{ products: ProductPage[] }>('/categories/7')).toMatchObject({
      products: [{ id: '123', price: '4.50' }],
    });
    const metrics = await (await shop.request('GET', '/metrics')).text();
    expect(metrics).toMatch(/^cache_client_hits_total [1-9]/m);

    await changeAndWait('/products/123', { name: 'Green tea', price: 5, categoryId: '7' });

    expect(await get<ProductPage>('/products/123')).toMatchObject({ price: '5.00' });
    expect(await get<{ products: ProductPage[] }>('/categories/7')).toMatchObject({
      products: [{ id: '123', price: '5.00' }],
    });
    const [unsent] = await world.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`${shop.database}\`.outbox WHERE sent_at IS NULL`,
    );
    expect(Number(unsent.n)).toBe(0);
  });

  it('a product in two categories is on both pages; moved to another set, the old and the new pages are fresh', async () => {
    for (const c of ['8', '9']) await changeAndWait(`/categories/${c}`, { name: `Tea ${c}` });
    await changeAndWait('/products/125', { name: 'Sencha', price: 6, categoryIds: ['7', '8'] });
    const listed = async (category: string) =>
      (await get<{ products: ProductPage[] }>(`/categories/${category}`)).products.map((p) => p.id);
    expect(await get<ProductPage>('/products/125')).toMatchObject({ categoryIds: ['7', '8'] });
    expect(await listed('7')).toContain('125');
    expect(await listed('8')).toEqual(['125']);
    expect(await listed('9')).toEqual([]);

    // Its ProductUpdated names the categories it left (7, 8) and the one it joined (9).
    await changeAndWait('/products/125', { name: 'Sencha', price: 6, categoryIds: ['9'] });

    expect(await get<ProductPage>('/products/125')).toMatchObject({ categoryIds: ['9'] });
    expect(await listed('7')).not.toContain('125');
    expect(await listed('8')).toEqual([]);
    expect(await listed('9')).toEqual(['125']);
  });

  it('a change committed but not yet relayed when the shop dies is announced after its restart', async () => {
    await shop.stop();
    await shop.spawn({ OUTBOX_RELAY_INTERVAL_MS: '3600000' });
    const before = await announcements.products();
    expect((await shop.request('PUT', '/products/124', { name: 'Oolong', price: 7 })).status).toBe(
      204,
    );
    await shop.stop('SIGKILL');
    const [queued] = await world.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`${shop.database}\`.outbox WHERE sent_at IS NULL`,
    );
    expect(Number(queued.n)).toBe(1);

    await shop.spawn();
    await announcements.waitProductsAbove(before);

    expect(await get<ProductPage>('/products/124')).toMatchObject({
      name: 'Oolong',
      price: '7.00',
    });
  });
});
