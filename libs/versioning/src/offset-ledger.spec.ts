import { randomUUID } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import { OffsetLedger, PACKED_EVENT_BYTES, packEvents, unpackEvents } from './offset-ledger';

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

describe(OffsetLedger.name, () => {
  // No retained batch names any event: an event below the mark is new (a regression).
  const runner = { query: async () => [] } as unknown as QueryRunner;
  const events = () => [105, 100, 110].map((offset) => entry(randomUUID(), offset));

  it('finds an event below the mark wherever it sits in its partition, not only first', async () => {
    const batch = events();
    const claim = await new OffsetLedger().claimFrom(runner, batch, [
      { topic: 't', partition: 0, next_offset: '103' },
    ]);
    expect(claim.applied).toHaveLength(3);
    expect(claim.regressions).toEqual([
      { topic: 't', partition: 0, ledgerNextOffset: '103', firstOffset: '100', events: 1 },
    ]);
  });

  it('takes a batch past the mark whole, and records it in offset order', async () => {
    const batch = events();
    const ledger = new OffsetLedger();
    const claim = await ledger.claimFrom(runner, batch, [
      { topic: 't', partition: 0, next_offset: '100' },
    ]);
    expect(claim).toEqual({ applied: batch, regressions: [] });
    const [, record] = ledger.recordStatements(claim.applied, 7n);
    const [, , first, next, count, packed] = record.params as [
      string,
      number,
      string,
      string,
      number,
      Buffer,
    ];
    expect({ first, next, count }).toEqual({ first: '100', next: '111', count: 3 });
    expect(unpackEvents(packed, 100n).map((e) => e.offset)).toEqual([100n, 105n, 110n]);
  });
});
