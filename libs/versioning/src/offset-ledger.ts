import { QueryRunner } from 'typeorm';
import type { InboxEntry } from './version.repository';

/** Bytes per applied event in applied_batches.event_ids: the UUID, then its offset's distance. */
export const PACKED_EVENT_BYTES = 20;

const pairKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

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
  entries.forEach((entry, i) => {
    const at = i * PACKED_EVENT_BYTES;
    writeUuid(packed, at, entry.eventId);
    packed.writeUInt32BE(Number(BigInt(entry.offset) - firstOffset), at + 16);
  });
  return packed;
}

/** A UUID's 16 bytes from its 36 characters, without the strings a replace and a hex write make. */
function writeUuid(target: Buffer, at: number, uuid: string): void {
  let byte = at;
  for (let i = 0; i < uuid.length; i++) {
    if (uuid.charCodeAt(i) === 45) continue; // '-'
    target[byte++] = (hexValue(uuid.charCodeAt(i)) << 4) | hexValue(uuid.charCodeAt(++i));
  }
  if (byte !== at + 16) throw new Error(`not a UUID: ${uuid}`);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  throw new Error(`not a hex digit: ${String.fromCharCode(code)}`);
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
    const next = new Map(rows.map((r) => [pairKey(r.topic, r.partition), BigInt(r.next_offset)]));
    const applied: InboxEntry[] = [];
    const duplicates: InboxEntry[] = [];
    for (const part of parts) {
      const from = next.get(pairKey(part.topic, part.partition));
      // ensureRows ran before the transaction; a row missing now was deleted by hand.
      if (from === undefined) this.known.delete(pairKey(part.topic, part.partition));
      for (const entry of part.entries)
        (from !== undefined && BigInt(entry.offset) < from ? duplicates : applied).push(entry);
    }
    return { applied, duplicates };
  }

  /** Moves each partition's next offset past what was applied and records the events. */
  async record(runner: QueryRunner, applied: InboxEntry[], fenceToken: bigint): Promise<void> {
    const parts = slices(applied);
    if (parts.length === 0) return;
    const batches = parts.map((part) => {
      const offsets = part.entries.map((e) => BigInt(e.offset));
      const inOrder = offsets.every((o, i) => i === 0 || offsets[i - 1] < o);
      const ordered = inOrder
        ? part.entries
        : part.entries
            .map((entry, i) => ({ entry, offset: offsets[i] }))
            .sort((a, b) => (a.offset < b.offset ? -1 : 1))
            .map((o) => o.entry);
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
