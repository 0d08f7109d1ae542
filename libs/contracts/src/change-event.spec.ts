import { convertChange, parseCdcMapping, uuidV5 } from './change-event';
import { InvalidEventError } from './parse-event';

const mapping = parseCdcMapping({
  topics: ['catalog.example_shop.products'],
  tables: {
    'example_shop.products': { event: 'ProductUpdated', id: 'id', categories: ['category_id'] },
    'example_shop.categories': { event: 'CategoryUpdated', id: 'id' },
    'example_shop.product_categories': {
      event: 'ProductUpdated',
      id: 'product_id',
      categories: ['category_id'],
    },
  },
});

const source = (table: string, pos = 1543, row = 0) => ({
  name: 'catalog',
  db: 'example_shop',
  table,
  file: 'binlog.000003',
  pos,
  row,
  ts_ms: 1796171527000,
  snapshot: 'false',
});
const change = (envelope: object) => Buffer.from(JSON.stringify(envelope));
const product = { id: 100, name: 'x', price: '9.90', category_id: 7 };

function kindOf(value: Buffer | null): string {
  try {
    convertChange(value, mapping, 'skip');
  } catch (e) {
    if (e instanceof InvalidEventError) return `${e.kind}: ${e.reason}`;
  }
  return 'accepted';
}

describe('convertChange', () => {
  it('maps every op to its action, with the id of the right image', () => {
    const cases = [
      { op: 'c', before: null, after: product, action: 'created' },
      { op: 'u', before: product, after: { ...product, name: 'y' }, action: 'updated' },
      { op: 'd', before: product, after: null, action: 'deleted' },
    ] as const;
    for (const { op, before, after, action } of cases) {
      const out = convertChange(
        change({ op, before, after, source: source('products') }),
        mapping,
        'skip',
      );
      expect(out).toEqual({
        event: {
          eventId: expect.stringMatching(/^[0-9a-f-]{14}5[0-9a-f]{3}-[89ab]/),
          type: 'ProductUpdated',
          action,
          productId: '100',
          categoryIds: ['7'],
          occurredAt: '2026-12-02T00:32:07.000Z',
        },
        committedAtMs: 1796171527000,
      });
    }
  });

  it('names the categories of both images (a move purges both)', () => {
    const out = convertChange(
      change({
        op: 'u',
        before: product,
        after: { ...product, category_id: 9 },
        source: source('products'),
      }),
      mapping,
      'skip',
    );
    expect('event' in out && out.event.type === 'ProductUpdated' && out.event.categoryIds).toEqual([
      '7',
      '9',
    ]);
  });

  it('converts a pivot row into its product and category; a null category is left out', () => {
    const out = convertChange(
      change({
        op: 'd',
        before: { product_id: 'p-1', category_id: 'c-2' },
        after: null,
        source: source('product_categories'),
      }),
      mapping,
      'skip',
    );
    expect('event' in out && out.event).toMatchObject({
      productId: 'p-1',
      categoryIds: ['c-2'],
      action: 'deleted',
    });
    const none = convertChange(
      change({
        op: 'c',
        before: null,
        after: { ...product, category_id: null },
        source: source('products'),
      }),
      mapping,
      'skip',
    );
    expect('event' in none && none.event).toMatchObject({ categoryIds: [] });
  });

  it('converts a category table', () => {
    const out = convertChange(
      change({
        op: 'u',
        before: { id: 7 },
        after: { id: 7, name: 'n' },
        source: source('categories'),
      }),
      mapping,
      'skip',
    );
    expect('event' in out && out.event).toMatchObject({ type: 'CategoryUpdated', categoryId: '7' });
  });

  it('skips tombstones, and snapshot reads unless asked to apply them', () => {
    expect(convertChange(null, mapping, 'skip')).toEqual({ skipped: 'tombstone' });
    expect(convertChange(Buffer.alloc(0), mapping, 'apply')).toEqual({ skipped: 'tombstone' });
    const read = change({ op: 'r', before: null, after: product, source: source('products') });
    expect(convertChange(read, mapping, 'skip')).toEqual({ skipped: 'snapshot' });
    expect(convertChange(read, mapping, 'apply')).toMatchObject({ event: { action: 'updated' } });
  });

  it('dead-letters what can never apply, saying why', () => {
    expect(kindOf(Buffer.from('{nope'))).toMatch(/^not_json: /);
    expect(kindOf(change({ hello: 1 }))).toMatch(/^not_envelope: not a change event: .*op/);
    expect(
      kindOf(change({ op: 'c', before: null, after: product, source: source('orders') })),
    ).toBe('unmapped_table: unmapped table: example_shop.orders');
    expect(
      kindOf(change({ op: 'c', before: null, after: { name: 'x' }, source: source('products') })),
    ).toBe('no_id: example_shop.products: no value in id column id');
    expect(
      kindOf(change({ op: 'c', before: null, after: { id: null }, source: source('products') })),
    ).toMatch(/^no_id: /);
    expect(
      kindOf(change({ op: 'c', before: null, after: { id: 'a b' }, source: source('products') })),
    ).toMatch(/^schema: example_shop.products: schema violation: productId/);
  });

  it('derives a stable id, different per row and position', () => {
    const id = (pos: number, row: number, after: object = product) => {
      const out = convertChange(
        change({ op: 'u', before: product, after, source: source('products', pos, row) }),
        mapping,
        'skip',
      );
      return 'event' in out ? out.event.eventId : '';
    };
    expect(id(1, 0)).toBe(id(1, 0));
    expect(new Set([id(1, 0), id(1, 1), id(2, 0), id(1, 0, { ...product, id: 101 })]).size).toBe(4);
  });

  it('is RFC 4122 version 5', () => {
    // The RFC's DNS namespace example.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});

describe('parseCdcMapping', () => {
  const bad = (json: unknown) => () => parseCdcMapping(json);
  it('names the bad entry', () => {
    expect(bad({ topics: ['t'], tables: { 'x.y': { event: 'Nope', id: 'id' } } })).toThrow(
      /tables\["x\.y"\]\.event: /,
    );
    expect(bad({ topics: ['t'], tables: { 'x.y': { event: 'CategoryUpdated' } } })).toThrow(
      /tables\["x\.y"\]\.id: /,
    );
    expect(
      bad({
        topics: ['t'],
        tables: { 'x.y': { event: 'CategoryUpdated', id: 'id', categories: ['c'] } },
      }),
    ).toThrow(/tables\["x\.y"\]\.categories: categories is for ProductUpdated only/);
    expect(bad({ topics: ['bad topic'], tables: {} })).toThrow(
      /topics\[0\]: not a Kafka topic name/,
    );
    expect(
      bad({ topics: ['t'], tables: { nodot: { event: 'CategoryUpdated', id: 'id' } } }),
    ).toThrow(/tables\["nodot"\]/);
  });
});
