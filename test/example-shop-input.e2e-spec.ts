import mysql from 'mysql2/promise';
import { ShopProcess } from './support/shop-process';
import { MYSQL_ROOT_URL, mysqlTestOptions } from './support/test-env';
import { World } from './support/world';

/** The example shop refuses what its tables cannot hold with 400, before any row or event. */
describe('example shop input', () => {
  let world: World;
  let shop: ShopProcess;

  beforeAll(async () => {
    world = await World.create('shopin', 1);
    shop = await ShopProcess.start(world.env);
    expect((await shop.request('PUT', '/categories/7', { name: 'Tea' })).status).toBe(204);
  });

  afterAll(async () => {
    await shop?.stop();
    const root = await mysql.createConnection(mysqlTestOptions(MYSQL_ROOT_URL));
    await root.query(`DROP DATABASE IF EXISTS \`${shop?.database}\``);
    await root.end();
    await world?.close();
  });

  const outbox = async () => {
    const [row] = await world.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`${shop.database}\`.outbox`,
    );
    return Number(row.n);
  };

  it.each([
    ['a negative price', '/products/1', { name: 'Tea', price: -1 }],
    ['a price over what DECIMAL(12, 2) holds', '/products/1', { name: 'Tea', price: 1e10 }],
    ['a huge price', '/products/1', { name: 'Tea', price: 1e308 }],
    ['a price with fractions of a cent', '/products/1', { name: 'Tea', price: 4.555 }],
    ['a price that is not a number', '/products/1', { name: 'Tea', price: '4.5' }],
    ['a category id of the wrong form', '/products/1', { name: 'Tea', price: 1, categoryId: '' }],
    ['a category id that is a number', '/products/1', { name: 'Tea', price: 1, categoryId: 7 }],
    ['a category that does not exist', '/products/1', { name: 'Tea', price: 1, categoryId: '8' }],
    [
      'one of its categories missing',
      '/products/1',
      { name: 'Tea', price: 1, categoryIds: ['7', '8'] },
    ],
    [
      'both categoryIds and categoryId',
      '/products/1',
      { name: 'Tea', price: 1, categoryIds: ['7'], categoryId: '7' },
    ],
    ['categoryIds that is not a list', '/products/1', { name: 'Tea', price: 1, categoryIds: '7' }],
    ['a product id over 64 characters', `/products/${'9'.repeat(65)}`, { name: 'Tea', price: 1 }],
    ['a name over 200 characters', '/products/1', { name: 'x'.repeat(201), price: 1 }],
    ['a name of 201 emoji', '/products/1', { name: '🍵'.repeat(201), price: 1 }],
    ['a body that is not an object', '/products/1', [1, 2]],
    ['a category name over 200 characters', '/categories/8', { name: 'x'.repeat(201) }],
  ])('%s is refused with 400, nothing written', async (_case, path, body) => {
    const before = await outbox();
    const res = await shop.request('PUT', path, body);
    expect({ status: res.status, body: await res.text() }).toMatchObject({ status: 400 });
    expect(await outbox()).toBe(before);
  });

  it.each([
    ['a product id over 64 characters', `/products/${'9'.repeat(65)}`],
    ['a malformed escape in the id', '/products/%E0%A4%A'],
    ['a category id of the wrong form', '/categories/a%20b'],
  ])('a read with %s is refused with 400', async (_case, path) => {
    expect((await shop.request('GET', path)).status).toBe(400);
  });

  it('the largest price the table holds, and a name of 200 emoji, are taken', async () => {
    const res = await shop.request('PUT', '/products/2', {
      name: '🍵'.repeat(200),
      price: 9999999999.99,
      categoryId: '7',
    });
    expect({ status: res.status, body: await res.text() }).toMatchObject({ status: 204 });
    const page = (await (await shop.request('GET', '/products/2')).json()) as { price: string };
    expect(page).toMatchObject({ name: '🍵'.repeat(200), price: '9999999999.99' });
  });
});
