import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from './json-schema';
import { shopEventSchema } from './events';
import { InvalidEventError, fastPathForTest, parseEvent } from './parse-event';
import { MergedPlan, planFor } from './invalidation-plan';

const product = {
  eventId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  type: 'ProductUpdated',
  action: 'updated',
  productId: '123',
  categoryIds: ['7', '9'],
  occurredAt: '2026-11-23T10:00:00.000Z',
};
const category = {
  eventId: '6fa459ea-ee8a-3ca4-894e-db77e160355e',
  type: 'CategoryUpdated',
  action: 'created',
  categoryId: '7',
  occurredAt: '2026-11-23T10:00:00.000Z',
};
const encode = (value: unknown) => Buffer.from(JSON.stringify(value));

function rejection(value: Buffer | null): InvalidEventError {
  try {
    parseEvent(value);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidEventError);
    return e as InvalidEventError;
  }
  throw new Error('expected the event to be rejected');
}

describe('parseEvent', () => {
  it('accepts both contract examples', () => {
    expect(parseEvent(encode(product))).toEqual(product);
    expect(parseEvent(encode(category))).toEqual(category);
  });

  it('event ids that differ only in case are one event: the id is normalized to lower case', () => {
    const upper = parseEvent(encode({ ...product, eventId: product.eventId.toUpperCase() }));
    const mixed = parseEvent(
      encode({ ...category, eventId: '6FA459EA-ee8a-3CA4-894e-DB77E160355E' }),
    );
    expect(upper.eventId).toBe(product.eventId);
    expect(mixed.eventId).toBe(category.eventId);
  });

  it('normalizes integer ids to strings and defaults categoryIds to []', () => {
    const { categoryIds: _omitted, ...rest } = product;
    const event = parseEvent(encode({ ...rest, productId: 123 }));
    expect(event).toMatchObject({ productId: '123', categoryIds: [] });
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), 'not_json', /not JSON/],
    ['an empty value', null, 'empty', /empty/],
    [
      'an unknown type',
      encode({ ...product, type: 'PriceChanged' }),
      'unknown_type',
      /PriceChanged/,
    ],
    ['a missing type', encode({ ...product, type: undefined }), 'unknown_type', /missing/],
    ['a JSON array', encode([product]), 'unknown_type', /type/],
    ['a missing field', encode({ ...product, productId: undefined }), 'schema', /productId/],
    ['a bad action', encode({ ...product, action: 'renamed' }), 'schema', /action/],
    ['an id with a space', encode({ ...product, productId: 'a b' }), 'schema', /productId/],
    [
      'an id of 65 characters',
      encode({ ...product, productId: 'x'.repeat(65) }),
      'schema',
      /productId/,
    ],
    ['a negative id', encode({ ...product, productId: -4 }), 'schema', /productId/],
    ['a bad eventId', encode({ ...product, eventId: 'abc' }), 'schema', /eventId/],
    ['a bad timestamp', encode({ ...product, occurredAt: 'yesterday' }), 'schema', /occurredAt/],
    [
      'a bad category id',
      encode({ ...product, categoryIds: ['ok', ''] }),
      'schema',
      /categoryIds\.1/,
    ],
  ])('rejects %s with a reason naming it', (_name, value, kind, reason) => {
    const error = rejection(value);
    expect(error.kind).toBe(kind);
    expect(error.reason).toMatch(reason);
  });

  it('rejects a value over 64 KiB before parsing it', () => {
    const big = encode({ ...product, padding: 'x'.repeat(64 * 1024) });
    expect(rejection(big)).toMatchObject({
      kind: 'oversized',
      reason: expect.stringMatching(/over the 65536 byte limit/),
    });
  });
});

describe('planFor', () => {
  it('maps ProductUpdated to the contract table', () => {
    expect(planFor(parseEvent(encode(product)))).toEqual({
      dataTypes: ['products', 'global'],
      tags: ['products', 'product:123', 'category:7', 'category:9'],
    });
  });

  it('maps CategoryUpdated to the contract table', () => {
    expect(planFor(parseEvent(encode(category)))).toEqual({
      dataTypes: ['categories', 'products', 'global'],
      tags: ['categories', 'products', 'category:7'],
    });
  });
});

describe('MergedPlan', () => {
  it('is the union of planFor over a batch: the same data types and tags', () => {
    const events = [
      parseEvent(encode(product)),
      parseEvent(encode({ ...product, productId: 'p2', categoryIds: [9, 11] })),
      parseEvent(encode(category)),
      parseEvent(encode({ ...category, categoryId: 'c3' })),
    ];
    for (const batch of [events.slice(0, 2), events.slice(2), events]) {
      const merged = new MergedPlan();
      batch.forEach((e) => expect(merged.add(e)).toEqual(planFor(e).dataTypes));
      const union = (pick: (e: (typeof batch)[0]) => readonly string[]) =>
        [...new Set(batch.flatMap((e) => [...pick(e)]))].sort();
      expect(merged.dataTypes()).toEqual(union((e) => planFor(e).dataTypes));
      expect([...merged.tags()].sort()).toEqual(union((e) => planFor(e).tags));
    }
  });
});

describe('JSON Schema files', () => {
  it('are current with the zod schemas (run npm run schemas after a change)', () => {
    for (const [file, schema] of Object.entries(jsonSchemas())) {
      const onDisk = readFileSync(join(__dirname, '..', 'json-schema', file), 'utf8');
      expect(JSON.parse(onDisk)).toEqual(schema);
    }
  });
});

describe('the fast path', () => {
  const odd: unknown[] = [
    undefined,
    null,
    '',
    ' ',
    'x'.repeat(64),
    'x'.repeat(65),
    'a b',
    'é',
    '7',
    0,
    -1,
    1.5,
    7,
    Number.MAX_SAFE_INTEGER,
    2 ** 53,
    NaN,
    Infinity,
    true,
    [],
    ['7'],
    [7, 'x y'],
    {},
    Array.from({ length: 1001 }, (_, i) => i + 1),
    Array.from({ length: 1000 }, (_, i) => i + 1),
    '1B4E28BA-2FA1-11D2-883F-0016D3CCA427',
    '1b4e28ba-2fa1-91d2-883f-0016d3cca427',
    '00000000-0000-0000-0000-000000000000',
    '2026-11-25T19:33:10Z',
    '2026-11-25T19:33:10.123+01:00',
    '2026-02-30T00:00:00Z',
    '2024-02-29T00:00:00Z',
    '2026-11-25T19:33:10+0100',
    '2026-11-25 19:33:10Z',
    '2026-11-25T24:00:00Z',
    '2026-11-25T19:33Z',
    'ProductUpdated',
    'CategoryUpdated',
    'created',
    'deleted',
    'Updated',
  ];
  const bases: Record<string, unknown>[] = [
    product,
    category,
    { ...product, productId: 5, categoryIds: undefined },
    { ...product, categoryIds: [] },
  ];
  const inputs: unknown[] = [null, [], 'x', 7];
  for (const base of bases) {
    inputs.push(base, { ...base, extra: 'kept out' });
    for (const field of [...Object.keys(base), 'categoryId', 'productId', 'categoryIds']) {
      const { [field]: _dropped, ...without } = base;
      inputs.push(without);
      for (const value of odd) inputs.push({ ...base, [field]: value });
    }
  }

  it('accepts only what zod accepts, with the same output', () => {
    let fast = 0;
    for (const input of inputs) {
      const quick = fastPathForTest(input);
      const zod = shopEventSchema.safeParse(input);
      if (quick === undefined) continue;
      fast++;
      expect({ input, success: zod.success }).toEqual({ input, success: true });
      if (zod.success)
        expect(quick).toEqual({ ...zod.data, eventId: zod.data.eventId.toLowerCase() });
    }
    // It is a fast path for real: most of the corpus (the valid variants) goes through it.
    expect(fast).toBeGreaterThan(100);
    expect(inputs.length).toBeGreaterThan(1000);
  });

  it('takes every valid event of the contract', () => {
    for (const base of bases) expect(fastPathForTest(base)).toBeDefined();
  });
});
