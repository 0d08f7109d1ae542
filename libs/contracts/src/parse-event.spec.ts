import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from './json-schema';
import { InvalidEventError, parseEvent } from './parse-event';
import { planFor } from './invalidation-plan';

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

describe('JSON Schema files', () => {
  it('are current with the zod schemas (run npm run schemas after a change)', () => {
    for (const [file, schema] of Object.entries(jsonSchemas())) {
      const onDisk = readFileSync(join(__dirname, '..', 'json-schema', file), 'utf8');
      expect(JSON.parse(onDisk)).toEqual(schema);
    }
  });
});
