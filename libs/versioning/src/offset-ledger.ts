import { QueryRunner } from 'typeorm';
import type { LedgerEvent } from './version.repository';

/** Bytes per applied event in applied_batches.event_ids: the UUID, then its offset's distance. */
export const PACKED_EVENT_BYTES = 20;

const pairKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** a < b for Kafka offsets (non-negative, no leading zeros): exact, and no bigint per event. */
const offsetBelow = (a: string, b: string) => (a.length !== b.length ? a.length < b.length : a < b);

/** An event below its partition's next offset (none without a ledger row). */
const isBelow = (offset: string, mark: string | undefined) =>
  mark !== undefined && offsetBelow(offset, mark);

/** A partition whose events sat below the ledger's mark but were not the events it applied. */
export interface OffsetRegression {
  topic: string;
  partition: number;
  /** The ledger's next offset before this saga. */
  ledgerNextOffset: string;
  /** The lowest offset that was not a redelivery. */
  firstOffset: string;
  /** How many such events this saga applied. */
  events: number;
}

/** One SQL statement and its parameters, sent with the others of its step (version.repository.ts `send`). */
export interface Statement {
  sql: string;
  params: unknown[];
  /**
   * Sent as a prepared statement (the binary protocol): its buffers travel as they are, not
   * as hex in the SQL text; for the few statements whose text does not vary.
   */
  prepared?: true;
}

/** A partition's ledger row as claim's locking read returns it. */
export interface LedgerRow {
  topic: string;
  partition: number;
  next_offset: string;
}

export interface Claim {
  applied: LedgerEvent[];
  regressions: OffsetRegression[];
}

interface Slice {
  topic: string;
  partition: number;
  entries: LedgerEvent[];
  /** The lowest offset of the entries. */
  lowest: string;
  /** Whether the entries are in offset order (as a partition's batch is). */
  ordered: boolean;
}

/** Each events array's slices, made once: a saga's ledger steps all take the same array. */
const slicesOf = new WeakMap<LedgerEvent[], Slice[]>();

/**
 * Events grouped by partition, partitions in primary-key order (the one lock order). The
 * arrays given are not changed afterwards (each bump builds its own), so the grouping is kept.
 */
function slices(events: LedgerEvent[]): Slice[] {
  let made = slicesOf.get(events);
  if (!made) slicesOf.set(events, (made = group(events)));
  return made;
}

function group(events: LedgerEvent[]): Slice[] {
  const byPartition = new Map<string, Slice>();
  let slice: Slice | undefined;
  for (const event of events) {
    // A batch holds each partition's events in a run: look the slice up once per run.
    if (slice?.partition !== event.partition || slice.topic !== event.topic) {
      const key = pairKey(event.topic, event.partition);
      slice = byPartition.get(key);
      if (!slice) {
        const { topic, partition, offset } = event;
        slice = { topic, partition, entries: [], lowest: offset, ordered: true };
        byPartition.set(key, slice);
      }
    }
    const { entries } = slice;
    if (entries.length > 0 && !offsetBelow(entries[entries.length - 1].offset, event.offset)) {
      slice.ordered = false;
      if (offsetBelow(event.offset, slice.lowest)) slice.lowest = event.offset;
    }
    entries.push(event);
  }
  return [...byPartition.values()].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

/** The events of one partition, in offset order, as applied_batches stores them. */
export function packEvents(entries: LedgerEvent[], firstOffset: bigint): Buffer {
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

const RECORD_BATCH_SQL = `INSERT INTO applied_batches
  (topic, \`partition\`, first_offset, next_offset, event_count, event_ids, fence_token, applied_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, NOW(6))`;

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
  async ensureRows(runner: QueryRunner, events: LedgerEvent[]): Promise<void> {
    const missing = slices(events).filter((s) => !this.known.has(pairKey(s.topic, s.partition)));
    if (missing.length === 0) return;
    await runner.query(
      `INSERT IGNORE INTO partition_offsets (topic, \`partition\`, next_offset, updated_at)
       VALUES ${missing.map(() => '(?, ?, 0, NOW(6))').join(', ')}`,
      missing.flatMap((s) => [s.topic, s.partition]),
    );
    missing.forEach((s) => this.known.add(pairKey(s.topic, s.partition)));
  }

  /** The locking read of the events' partitions' rows, sent with the transaction's opening reads. */
  claimRead(events: LedgerEvent[]): Statement | undefined {
    if (events.length === 0) return undefined;
    const parts = slices(events);
    return {
      sql: `SELECT topic, \`partition\`, next_offset FROM partition_offsets
       WHERE (topic, \`partition\`) IN (${parts.map(() => '(?, ?)').join(', ')})
       ORDER BY topic, \`partition\` FOR UPDATE`,
      params: parts.flatMap((s) => [s.topic, s.partition]),
    };
  }

  /**
   * Given the rows of the locking read, splits the events into those to apply and those
   * applied. An event below its partition's next offset is a redelivery only if a retained
   * applied_batches row holds that very event id at that very offset; any other event there
   * is new (the topic was recreated, the log truncated, the database met another cluster)
   * and is applied: a bump costs a cache miss, a skip would cost staleness. Such partitions
   * come back as regressions, and recordStatements() moves their rows to the new offsets.
   */
  async claimFrom(runner: QueryRunner, events: LedgerEvent[], rows: LedgerRow[]): Promise<Claim> {
    if (events.length === 0) return { applied: [], regressions: [] };
    const parts = slices(events);
    const next = new Map(rows.map((r) => [pairKey(r.topic, r.partition), String(r.next_offset)]));
    const marks = parts.map((part) => {
      const from = next.get(pairKey(part.topic, part.partition));
      // ensureRows ran before the transaction; a row missing now was deleted by hand.
      if (from === undefined) this.known.delete(pairKey(part.topic, part.partition));
      return from;
    });
    // A drain's saga: every event past its partition's mark, all applied (the array itself).
    if (parts.every((part, i) => !isBelow(part.lowest, marks[i])))
      return { applied: events, regressions: [] };
    const applied: LedgerEvent[] = [];
    const regressions: OffsetRegression[] = [];
    for (const [i, part] of parts.entries()) {
      const from = marks[i];
      const below = part.entries.filter((e) => isBelow(e.offset, from));
      if (below.length === 0) {
        // A loop, not a spread: a saga's partition can hold more events than a call's arguments.
        for (const entry of part.entries) applied.push(entry);
        continue;
      }
      const redelivered = await this.redelivered(runner, part, below);
      const regressed = below.filter((e) => !redelivered.has(e));
      for (const entry of part.entries) if (!redelivered.has(entry)) applied.push(entry);
      if (regressed.length > 0)
        regressions.push({
          topic: part.topic,
          partition: part.partition,
          ledgerNextOffset: from as string,
          firstOffset: regressed[0].offset,
          events: regressed.length,
        });
    }
    return { applied, regressions };
  }

  /**
   * The events below the ledger's mark that a retained applied_batches row names at their own
   * offset: the packed ids carry both. Read under the partition row's lock, which every
   * writer of the partition's batches holds too.
   */
  private async redelivered(
    runner: QueryRunner,
    part: Slice,
    below: LedgerEvent[],
  ): Promise<Set<LedgerEvent>> {
    // One event per offset of a partition: each candidate's packed id computed once.
    const byOffset = new Map<string, { entry: LedgerEvent; id: Buffer }>();
    let low = below[0].offset;
    let high = below[0].offset;
    for (const entry of below) {
      const id = Buffer.allocUnsafe(16);
      writeUuid(id, 0, entry.eventId);
      byOffset.set(entry.offset, { entry, id });
      if (offsetBelow(entry.offset, low)) low = entry.offset;
      if (offsetBelow(high, entry.offset)) high = entry.offset;
    }
    const batches: { first_offset: string; event_ids: Buffer }[] = await runner.query(
      `SELECT first_offset, event_ids FROM applied_batches
       WHERE topic = ? AND \`partition\` = ? AND next_offset > ? AND first_offset <= ?`,
      [part.topic, part.partition, low, high],
    );
    const found = new Set<LedgerEvent>();
    for (const batch of batches) {
      const first = BigInt(batch.first_offset);
      const packed = batch.event_ids;
      for (let at = 0; at + PACKED_EVENT_BYTES <= packed.length; at += PACKED_EVENT_BYTES) {
        const candidate = byOffset.get((first + BigInt(packed.readUInt32BE(at + 16))).toString());
        if (candidate && packed.compare(candidate.id, 0, 16, at, at + 16) === 0)
          found.add(candidate.entry);
      }
    }
    return found;
  }

  /**
   * The writes that move each partition's next offset past what was applied and record the
   * events, sent with the version transaction's other writes.
   */
  recordStatements(
    applied: LedgerEvent[],
    fenceToken: bigint,
    regressions: OffsetRegression[] = [],
  ): Statement[] {
    const parts = slices(applied);
    if (parts.length === 0) return [];
    const batches = parts.map((part) => {
      const { entries } = part;
      const ordered = part.ordered
        ? entries
        : [...entries].sort((a, b) => (offsetBelow(a.offset, b.offset) ? -1 : 1));
      const first = BigInt(ordered[0].offset);
      const last = BigInt(ordered[ordered.length - 1].offset);
      return { part, first, next: last + 1n, packed: packEvents(ordered, first) };
    });
    // A regressed partition's mark is set to the new offsets (the old mark was another log's);
    // any other moves forward only.
    const regressed = new Set(regressions.map((r) => pairKey(r.topic, r.partition)));
    const isRegressed = (b: (typeof batches)[number]) =>
      regressed.has(pairKey(b.part.topic, b.part.partition));
    const statements: Statement[] = [];
    for (const [group, update] of [
      [batches.filter((b) => !isRegressed(b)), 'GREATEST(next_offset, VALUES(next_offset))'],
      [batches.filter(isRegressed), 'VALUES(next_offset)'],
    ] as const) {
      if (group.length === 0) continue;
      statements.push({
        sql: `INSERT INTO partition_offsets (topic, \`partition\`, next_offset, updated_at)
         VALUES ${group.map(() => '(?, ?, ?, NOW(6))').join(', ')}
         ON DUPLICATE KEY UPDATE next_offset = ${update}, updated_at = VALUES(updated_at)`,
        params: group.flatMap((b) => [b.part.topic, b.part.partition, b.next.toString()]),
      });
    }
    // A partition's row per statement, prepared: a drain's packed ids (20 bytes an event) go as
    // bytes, where in the SQL text they would be twice as long and escaped, then parsed back.
    for (const b of batches)
      statements.push({
        sql: RECORD_BATCH_SQL,
        params: [
          b.part.topic,
          b.part.partition,
          b.first.toString(),
          b.next.toString(),
          b.part.entries.length,
          b.packed,
          fenceToken.toString(),
        ],
        prepared: true,
      });
    return statements;
  }
}
