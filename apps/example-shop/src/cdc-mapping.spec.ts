import { join } from 'node:path';
import { parseConfig } from '@invalidator/config';
import { convertChange } from '@invalidator/contracts';
import { shopSchema } from './catalog.repository';
import { parseShopConfig } from './shop-config';

const MAPPING_FILE = join(__dirname, '..', 'cdc-mapping.json');
// The default SHOP_MYSQL_URL's database, and the connector's topic prefix (scripts/cdc.sh).
const DATABASE = new URL(parseShopConfig({}).SHOP_MYSQL_URL).pathname.slice(1);
const TOPIC_PREFIX = 'catalog';

/** Each table the shop creates with SHOP_EVENTS=cdc, and its column definitions. */
const tables = shopSchema('cdc').map((statement) => {
  const [, name, body] = /CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*)\)/.exec(statement) ?? [];
  return { name, columns: body.split(',').map((c) => c.trim().split(/\s+/)[0]) };
});

describe("the example shop's cdc-mapping.json", () => {
  // What the service reads at start-up from CDC_MAPPING_FILE: throws if the file is invalid.
  const mapping = parseConfig({ CDC_MAPPING_FILE: MAPPING_FILE }).CDC_MAPPING_FILE;

  it('passes the service’s own validation', () => {
    expect(mapping).toBeDefined();
  });

  it('maps every table the shop creates, from its topic, by columns the table has', () => {
    expect(tables.map((t) => t.name).sort()).toEqual([
      'categories',
      'product_categories',
      'products',
    ]);
    const keys = tables.map((t) => `${DATABASE}.${t.name}`);
    expect(Object.keys(mapping?.tables ?? {}).sort()).toEqual([...keys].sort());
    expect([...(mapping?.topics ?? [])].sort()).toEqual(
      keys.map((k) => `${TOPIC_PREFIX}.${k}`).sort(),
    );
    for (const { name, columns } of tables) {
      const entry = mapping?.tables[`${DATABASE}.${name}`];
      expect(columns).toEqual(expect.arrayContaining([entry?.id, ...(entry?.categories ?? [])]));
    }
  });

  it('a pivot row deleted purges its product and category; a product row names its product', () => {
    if (!mapping) throw new Error('no mapping');
    const change = (table: string, before: object | null, after: object | null, op: string) =>
      Buffer.from(
        JSON.stringify({
          before,
          after,
          op,
          source: { name: TOPIC_PREFIX, db: DATABASE, table, file: 'f', pos: 4, row: 0, ts_ms: 1 },
        }),
      );
    const pivot = { product_id: 'p1', category_id: 'c7' };
    expect(
      convertChange(change('product_categories', pivot, null, 'd'), mapping, 'skip'),
    ).toMatchObject({
      event: { type: 'ProductUpdated', action: 'deleted', productId: 'p1', categoryIds: ['c7'] },
    });
    const product = { id: 'p1', name: 'Tea', price: '4.50', updated_at: 1 };
    expect(
      convertChange(
        change('products', product, { ...product, price: '5.00' }, 'u'),
        mapping,
        'skip',
      ),
    ).toMatchObject({ event: { type: 'ProductUpdated', productId: 'p1', categoryIds: [] } });
    expect(
      convertChange(change('categories', null, { id: 'c7', name: 'Tea' }, 'c'), mapping, 'skip'),
    ).toMatchObject({ event: { type: 'CategoryUpdated', action: 'created', categoryId: 'c7' } });
  });
});
