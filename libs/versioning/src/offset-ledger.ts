import { QueryRunner } from 'typeorm';
import type { InboxEntry } from './version.repository';

/** Bytes per applied event in applied_batches.event_ids: the UUID, then its offset's distance. */
export const PACKED_EVENT_BYTES = 20;

const pairKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** a < b for Kafka offsets (non-negative, no leading zeros): exact, and no bigint per event. */
const offsetBelow = (a: string, b: string) => (a.length !== b.length ? a.length < b.length : a < b);

interface Slice {
  topic: string;
  partition: number;
  entries: InboxEntry[];
}

/** Events grouped by partition, partitions in primary-key order (the one lock order). */
function slices(events: InboxEntry[]): Slice[] {
  const byPartition = new Map<string, Slice>();
  let slice: Slice | undefined;
  for (const event of events) {
    // A batch holds each partition's events in a run: look the slice up once per run.
    if (slice?.partition !== event.partition || slice.topic !== event.topic) {
      const key = pairKey(event.topic, event.partition);
      slice = byPartition.get(key);
      if (!slice) {
        slice = { topic: event.topic, partition: event.partition, entries: [] };
        byPartition.set(key, slice);
      }
    }
    slice.entries.push(event);
  }
  return [...byPartition.values()].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

/** The events of one partition, in offset order, as applied_batches stores them. */
export function packEvents(entries: InboxEntry[], firstOffset: bigint): Buffer {
  const packed = Buffer.allocUnsafe(entries.length * PACKED_EVENT_BYTES);
  // Offsets below 2^53 (all real ones) are exact as numbers, and far cheaper than bigints.
  const exact = firstOffset < BigInt(Number.MAX_SAFE_INTEGER);
  const first = Number(firstOffset);
  for (let i = 0; i < entries.length; i++) {
    const at = i * PACKED_EVENT_BYTES;
    const { eventId, offset } = entries[i];
    writeUuid(packed, at, eventId);
    const distance =
      exact && offset.length < 16 ? Number(offset) - first : Number(BigInt(offset) - firstOffset);
    packed.writeUInt32BE(distance, at + 16);
  }
  return packed;
}

/** Hex digit values by character code; -1 for anything else. */
const HEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const DASH = 45;

/** A UUID's 16 bytes from its 36 characters, without the strings a replace and a hex write make. */
function writeUuid(target: Buffer, at: number, uuid: string): void {
  let byte = at;
  for (let i = 0; i < uuid.length && byte < at + 16; i++) {
    const code = uuid.charCodeAt(i);
    if (code === DASH) continue;
    const high = code < 128 ? HEX[code] : -1;
    const next = uuid.charCodeAt(++i);
    const low = next < 128 ? HEX[next] : -1;
    if ((high | low) < 0) throw new Error(`not a UUID: ${uuid}`);
    target[byte++] = (high << 4) | low;
  }
  if (byte !== at + 16) throw new Error(`not a UUID: ${uuid}`);
}

export function unpackEvents(
  packed: Buffer,
  firstOffset: bigint,
): { eventId: string; offset: bigint }[] {
  const events = [];
  for (let at = 0; at + PACKED_EVENT_BYTES <= packed.length; at += PACKED_EVENT_BYTES) {
    const hex = packed.toString('hex', at, at + 16);
    events.push({
      eventId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      offset: firstOffset + BigInt(packed.readUInt32BE(at + 16)),
    });
  }
  return events;
}

/**
 * Exactly-once by offset: partition_offsets holds each partition's next offset to apply. A
 * saga locks its partitions' rows, applies only events at or past that offset, and moves the
 * offset on in the same transaction as the bump; a redelivered event is below it and skipped.
 * O(partitions) rows per saga, however many events it carries.
 */
export class OffsetLedger {
  /** Partitions whose ledger row this process has seen exist (rows are never deleted). */
  private readonly known = new Set<string>();

  /**
   * Creates missing ledger rows before the transaction: inserting into a gap that other
   * transactions lock (REPEATABLE READ) deadlocks, while outside it merely waits its turn.
   */
  async ensureRows(runner: QueryRunner, events: InboxEntry[]): Promise<void> {
    const missing = slices(events).filter((s) => !this.known.has(pairKey(s.topic, s.partition)));
    if (missing.length === 0) return;
    await runner.query(
      `INSERT IGNORE INTO partition_offsets (topic, \`partition\`, next_offset, updated_at)
       VALUES ${missing.map(() => '(?, ?, 0, NOW(6))').join(', ')}`,
      missing.flatMap((s) => [s.topic, s.partition]),
    );
    missing.forEach((s) => this.known.add(pairKey(s.topic, s.partition)));
  }

  /** Locks the partitions' rows and splits the events into those to apply and those applied. */
  async claim(runner: QueryRunner, events: InboxEntry[]) {
    if (events.length === 0) return { applied: [], duplicates: [] };
    const parts = slices(events);
    const rows: { topic: string; partition: number; next_offset: string }[] = await runner.query(
      `SELECT topic, \`partition\`, next_offset FROM partition_offsets
       WHERE (topic, \`partition\`) IN (${parts.map(() => '(?, ?)').join(', ')})
       ORDER BY topic, \`partition\` FOR UPDATE`,
      parts.flatMap((s) => [s.topic, s.partition]),
    );
    const next = new Map(rows.map((r) => [pairKey(r.topic, r.partition), String(r.next_offset)]));
    const applied: InboxEntry[] = [];
    const duplicates: InboxEntry[] = [];
    for (const part of parts) {
      const from = next.get(pairKey(part.topic, part.partition));
      // ensureRows ran before the transaction; a row missing now was deleted by hand.
      if (from === undefined) this.known.delete(pairKey(part.topic, part.partition));
      for (const entry of part.entries)
        (from !== undefined && offsetBelow(entry.offset, from) ? duplicates : applied).push(entry);
    }
    return { applied, duplicates };
  }

  /** Moves each partition's next offset past what was applied and records the events. */
  async record(runner: QueryRunner, applied: InboxEntry[], fenceToken: bigint): Promise<void> {
    const parts = slices(applied);
    if (parts.length === 0) return;
    const batches = parts.map((part) => {
      const { entries } = part;
      const inOrder = entries.every(
        (e, i) => i === 0 || offsetBelow(entries[i - 1].offset, e.offset),
      );
      const ordered = inOrder
        ? entries
        : [...entries].sort((a, b) => (offsetBelow(a.offset, b.offset) ? -1 : 1));
      const first = BigInt(ordered[0].offset);
      const last = BigInt(ordered[ordered.length - 1].offset);
      return { part, first, next: last + 1n, packed: packEvents(ordered, first) };
    });
    await runner.query(
      `INSERT INTO partition_offsets (topic, \`partition\`, next_offset, updated_at)
       VALUES ${batches.map(() => '(?, ?, ?, NOW(6))').join(', ')}
       ON DUPLICATE KEY UPDATE next_offset = GREATEST(next_offset, VALUES(next_offset)),
         updated_at = VALUES(updated_at)`,
      batches.flatMap((b) => [b.part.topic, b.part.partition, b.next.toString()]),
    );
    await runner.query(
      `INSERT INTO applied_batches
         (topic, \`partition\`, first_offset, next_offset, event_count, event_ids, fence_token, applied_at)
       VALUES ${batches.map(() => '(?, ?, ?, ?, ?, ?, ?, NOW(6))').join(', ')}`,
      batches.flatMap((b) => [
        b.part.topic,
        b.part.partition,
        b.first.toString(),
        b.next.toString(),
        b.part.entries.length,
        b.packed,
        fenceToken.toString(),
      ]),
    );
  }
}
