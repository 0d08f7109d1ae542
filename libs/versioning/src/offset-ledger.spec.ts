import { randomUUID } from 'node:crypto';
import { PACKED_EVENT_BYTES, packEvents, unpackEvents } from './offset-ledger';

const entry = (eventId: string, offset: number) => ({
  eventId,
  topic: 't',
  partition: 0,
  offset: String(offset),
  dataTypes: ['products', 'global'],
});

describe('packed applied events', () => {
  it('round-trips ids and offsets, 20 bytes each, offsets relative to the first', () => {
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const first = 9_000_000_000n;
    const entries = ids.map((id, i) => entry(id, Number(first) + i * 3));
    const packed = packEvents(entries, first);
    expect(packed).toHaveLength(50 * PACKED_EVENT_BYTES);
    expect(unpackEvents(packed, first)).toEqual(
      ids.map((eventId, i) => ({ eventId, offset: first + BigInt(i * 3) })),
    );
  });

  it('reads upper-case hex as the same id', () => {
    const id = randomUUID();
    const [event] = unpackEvents(packEvents([entry(id.toUpperCase(), 7)], 7n), 7n);
    expect(event.eventId).toBe(id);
  });

  it('refuses what is not a UUID rather than storing garbage', () => {
    expect(() => packEvents([entry('not-a-uuid', 1)], 1n)).toThrow(/not a (hex digit|UUID)/);
    expect(() => packEvents([entry('0123456789abcdef', 1)], 1n)).toThrow(/not a UUID/);
  });
});
