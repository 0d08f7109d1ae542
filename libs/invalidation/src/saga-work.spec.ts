import { parseCdcMapping } from '@invalidator/contracts';
import { IncomingMessage } from './incoming-batch';
import { check, coalesce, dedupe } from './saga-work';

const CDC = 'catalog.example_shop.products';
const mapping = parseCdcMapping({
  topics: [CDC],
  tables: { 'example_shop.products': { event: 'ProductUpdated', id: 'id' } },
});
const config = { CDC_MAPPING_FILE: mapping, CDC_SNAPSHOT_EVENTS: 'skip' as const };

let offset = 0;
const message = (topic: string, value: object | null): IncomingMessage => ({
  topic,
  partition: 0,
  offset: String(offset++),
  key: null,
  value: value === null ? null : Buffer.from(JSON.stringify(value)),
  timestamp: '0',
});
const change = (op: string, table = 'products', pos = 1) => ({
  op,
  before: null,
  after: { id: 5 },
  source: { name: 'catalog', db: 'example_shop', table, file: 'b.1', pos, row: 0, ts_ms: 1000 },
});
const contract = {
  eventId: '8c1f1b0e-6f64-4d0e-9b7c-2f2f6c5f0a01',
  type: 'ProductUpdated',
  action: 'updated',
  productId: 'p1',
  occurredAt: '2026-01-01T00:00:00Z',
};

describe('check routes by topic', () => {
  it('converts a mapped CDC topic, parses the others as contract events', () => {
    const checked = check(
      [
        message(CDC, change('u')),
        message(CDC, change('u')),
        message('shop.product-updated', contract),
        message(CDC, null),
        message(CDC, change('r')),
        message(CDC, change('c', 'orders')),
        message('shop.product-updated', change('u')),
      ],
      config,
    );
    const { valid, invalid, copies, skipped } = dedupe([checked]);
    expect(valid.map((v) => [v.type, v.committedAtMs])).toEqual([
      ['ProductUpdated', 1000],
      ['ProductUpdated', undefined],
    ]);
    expect(copies).toHaveLength(1);
    expect(skipped).toEqual(['tombstone', 'snapshot']);
    expect(invalid.map((l) => l.kind)).toEqual(['unmapped_table', 'unknown_type']);
  });

  it('without a mapping, a CDC topic is nothing special', () => {
    const { invalid } = check([message(CDC, change('u'))], {
      CDC_MAPPING_FILE: undefined,
      CDC_SNAPSHOT_EVENTS: 'skip',
    });
    expect(invalid.map((l) => l.kind)).toEqual(['unknown_type']);
  });
});

describe('dedupe', () => {
  const event = (n: number) =>
    message('shop.product-updated', {
      ...contract,
      eventId: `8c1f1b0e-6f64-4d0e-9b7c-2f2f6c5f${String(n).padStart(4, '0')}`,
    });
  const ids = (events: { eventId: string }[]) => events.map((e) => e.eventId.slice(-2));

  it('keeps the first of each id across the parts, in order; the rest are copies', () => {
    const first = check([event(1), event(2), event(1)], config);
    const second = check([event(3), event(2), event(4)], config);
    const { valid, copies } = dedupe([first, second]);
    expect(ids(valid)).toEqual(['01', '02', '03', '04']);
    expect(ids(copies)).toEqual(['01', '02']);
  });

  it("merges the parts' plans into the plan of their events: no tag a saga must purge is left out", () => {
    const part = (productIds: string[], categoryId: number) =>
      check(
        [
          ...productIds.map((productId, i) =>
            message('shop.product-updated', {
              ...contract,
              eventId: `8c1f1b0e-6f64-4d0e-9b7c-2f2f6c5f${productId.padStart(4, '0')}`,
              productId,
              categoryIds: [categoryId + i],
            }),
          ),
          message('shop.category-updated', {
            ...contract,
            eventId: `9c1f1b0e-6f64-4d0e-9b7c-2f2f6c5f${String(categoryId).padStart(4, '0')}`,
            type: 'CategoryUpdated',
            categoryId,
          }),
        ],
        config,
      );
    const { valid, plan } = dedupe([part(['1', '2'], 10), part(['2', '3'], 20)]);
    const expected = coalesce(valid);
    expect(plan.dataTypes).toEqual(expected.dataTypes);
    expect([...plan.tags].sort()).toEqual([...expected.tags].sort());
    expect(plan.tags).toEqual(expect.arrayContaining(['product:3', 'category:21', 'categories']));
  });

  it('tells ids apart by the ids themselves when their hashes collide', () => {
    const parts = [check([event(1), event(2)], config), check([event(3), event(1)], config)];
    for (const part of parts) part.idHashes = new Uint32Array(part.events.length);
    const { valid, copies } = dedupe(parts);
    expect(ids(valid)).toEqual(['01', '02', '03']);
    expect(ids(copies)).toEqual(['01']);
  });
});
