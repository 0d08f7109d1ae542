import { parseCdcMapping, parseEvent } from '@invalidator/contracts';
import { CheckThread, checkPacked, packMessages, unpackOutcome } from './check-thread';
import { IncomingMessage } from './incoming-batch';
import { CheckedMessages, check, checkersOf, coalesce, shopEvent } from './saga-work';

const CDC = 'catalog.example_shop.products';
const config = {
  CDC_MAPPING_FILE: parseCdcMapping({
    topics: [CDC],
    tables: { 'example_shop.products': { event: 'ProductUpdated', id: 'id' } },
  }),
  CDC_SNAPSHOT_EVENTS: 'skip' as const,
};

let offset = 0;
const message = (topic: string, value: string | object | null): IncomingMessage => ({
  topic,
  partition: 0,
  offset: String(offset++),
  key: null,
  value:
    value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  timestamp: '0',
});
const change = (op: string, pos: number, table = 'products') => ({
  op,
  before: null,
  after: { id: pos },
  source: { name: 'catalog', db: 'example_shop', table, file: 'b.1', pos, row: 0, ts_ms: 1000 },
});
const product = (n: number, extra: object = {}) => ({
  eventId: `8C1F1B0E-6F64-4D0E-9B7C-2F2F6C5F${String(n).padStart(4, '0')}`,
  type: 'ProductUpdated',
  action: 'updated',
  productId: `p${n}`,
  categoryIds: [(n % 3) + 1],
  occurredAt: '2026-01-01T00:00:00Z',
  ...extra,
});
const category = (n: number) => ({
  eventId: `9c1f1b0e-6f64-4d0e-9b7c-2f2f6c5f${String(n).padStart(4, '0')}`,
  type: 'CategoryUpdated',
  action: 'deleted',
  categoryId: n,
  occurredAt: '2026-01-01T00:00:00Z',
});

/** Every kind of message: contract events of both types, copies, letters, changes, skips. */
const batch = (): IncomingMessage[] => [
  message('shop.product-updated', product(1)),
  message('shop.product-updated', null),
  message('shop.product-updated', '{not json'),
  message('shop.category-updated', category(7)),
  message(CDC, change('u', 11)),
  message(CDC, null),
  message(CDC, change('r', 12)),
  message(CDC, change('c', 13, 'orders')),
  message('shop.product-updated', product(1)),
  message('shop.product-updated', product(2, { productId: undefined })),
  message('shop.product-updated', product(3, { type: 'PriceChanged' })),
  message('shop.product-updated', 'x'.repeat(70 * 1024)),
  message('shop.product-updated', product(4, { categoryIds: [5, 'c6'] })),
];

const bigBatch = (events: number) =>
  Array.from({ length: events }, (_, i) => message('shop.product-updated', product(i % 9000)));

/** What a check holds, without the functions and the parsed events (the thread parses none). */
const columns = (checked: CheckedMessages) => ({
  events: checked.events.map(({ event: _event, recheck: _recheck, ...entry }) => entry),
  invalid: checked.invalid,
  skipped: checked.skipped,
});

describe('the check thread', () => {
  it('answers in columns what check answers: events, letters and skips alike', () => {
    const messages = batch();
    const { isChange, recheck } = checkersOf(config);
    const packed = packMessages(messages, isChange);
    const viaThread = unpackOutcome(messages, checkPacked(packed, config), recheck);
    const here = check(messages, config);

    expect(columns(viaThread)).toEqual(columns(here));
    expect(viaThread.events.map((e) => e.message)).toEqual(here.events.map((e) => e.message));
    expect(viaThread.invalid.map((l) => l.kind)).toEqual([
      'empty',
      'not_json',
      'unmapped_table',
      'schema',
      'unknown_type',
      'oversized',
    ]);
    // Its merged plan is check's, and the plan of the events merged again.
    const sorted = (plan: { dataTypes: string[]; tags: string[] }) => ({
      dataTypes: plan.dataTypes,
      tags: [...plan.tags].sort(),
    });
    expect(sorted(viaThread.plan)).toEqual(sorted(here.plan));
    expect(sorted(viaThread.plan)).toEqual(sorted(coalesce(here.events)));
    // And each event parses again, when needed, to what check parsed.
    expect(viaThread.events.map(shopEvent)).toEqual(here.events.map((e) => e.event));
  });

  it('packs each value as it was, wherever it lies: in order in one response, apart, out of order, null', () => {
    // A fetch response: each value after its record's framing, a few far apart.
    const values = bigBatch(300).map((m) => m.value as Buffer);
    const framing = (i: number) => (i % 50 === 49 ? 1000 : i % 7) + 20;
    const response = Buffer.alloc(values.reduce((n, v, i) => n + v.length + framing(i), 0));
    let at = 0;
    const inResponse = values.map((v, i) => {
      at += framing(i);
      v.copy(response, at);
      at += v.length;
      return response.subarray(at - v.length, at);
    });
    const messages: IncomingMessage[] = inResponse.map((value) => ({
      ...message('shop.product-updated', null),
      value,
    }));
    // Out of order, in buffers of their own, null.
    [messages[48], messages[49]] = [messages[49], messages[48]];
    messages.splice(100, 0, message('shop.product-updated', product(9001)));
    messages.splice(200, 0, message('shop.product-updated', null));
    const packed = packMessages(messages, () => false);
    const packedValues = Buffer.from(packed.values);
    messages.forEach((m, i) =>
      expect(packedValues.subarray(packed.starts[i], packed.ends[i])).toEqual(
        m.value ?? Buffer.alloc(0),
      ),
    );
    // The framing within a run travels too, but not what lies far apart.
    expect(packed.values.byteLength).toBeLessThan(response.length);
    expect(packed.values.byteLength).toBeGreaterThan(values.reduce((n, v) => n + v.length, 0));
  });

  it('checks on a worker thread; a check that throws (a bug) rejects, and so does a thread gone mid-check; the next check starts another', async () => {
    const thread = new CheckThread(config);
    // A mapping without its tables: converting a change event throws a TypeError, not a letter.
    const broken = new CheckThread({ ...config, CDC_MAPPING_FILE: { topics: [CDC] } as never });
    try {
      await thread.warm();
      const messages = batch();
      expect(columns(await thread.check(messages))).toEqual(columns(check(messages, config)));

      await expect(broken.check([message(CDC, change('u', 1))])).rejects.toThrow(
        /the check thread failed: .*/,
      );

      // 50,000 events take the thread far longer than terminating it does.
      const lost = thread.check(bigBatch(50000));
      await thread.close();
      await expect(lost).rejects.toThrow(/the check thread exited/);

      const again = await thread.check([message('shop.product-updated', product(9))]);
      expect(again.events.map(shopEvent)).toEqual([
        parseEvent(Buffer.from(JSON.stringify(product(9)))),
      ]);
    } finally {
      await thread.close();
      await broken.close();
    }
  });
});
