import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { IdempotencyKeyRaceError, StaleFenceError, typedMysqlError } from './errors';
import { NEXT_FENCE_TOKEN_SQL, fenceTokenOf } from '@invalidator/locking';
import { destroyIfTimedOut } from '@invalidator/mysql';
import { LedgerRow, OffsetLedger, OffsetRegression, Statement } from './offset-ledger';
import { THROWAWAY_TYPE_PREFIX, versionHash } from './version-hash';

/** One event of a version transaction: a Kafka offset, or a manual bump's idempotency key. */
export interface LedgerEvent {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
  dataTypes: readonly string[];
  /**
   * Applied once per id as well as once per offset: a change event, which Kafka Connect may
   * write again at a new offset after a crash (at-least-once); its id derives from the binlog.
   */
  oncePerId?: boolean;
}

export interface BumpRequest {
  /**
   * Events of the batch; those already applied are skipped (exactly-once effect). A Kafka
   * event (partition >= 0) is applied once per offset (the offset ledger); a manual bump's
   * key (partition -1) once per id (processed_events); a change event both ways.
   */
  events: LedgerEvent[];
  /**
   * A fencing token taken elsewhere. Without one (the saga), the transaction takes the next
   * from the durable sequence as its first statement: the sequence row is locked to the
   * commit, so tokens follow the order in which bumps commit.
   */
  fenceToken?: bigint;
  actor: string;
  lockWaitTimeoutMs: number;
  /**
   * The session's wait_timeout: the server ends a session silent this long, so a transaction
   * whose client vanished without a reset releases its row locks after it at the latest.
   */
  sessionIdleTimeoutS?: number;
  /** Runs just before COMMIT; throwing aborts the transaction (e.g. the lock could not be extended). */
  beforeCommit?: () => Promise<void>;
}

export interface VersionState {
  dataType: string;
  version: bigint;
  hash: string;
  updatedAt: Date;
}

export interface BumpResult {
  /** Every type's row as this transaction left them: what Redis must show after the saga. */
  current: VersionState[];
  appliedEventIds: string[];
  /** The token every row written by this transaction carries. */
  fenceToken: bigint;
  /** Partitions whose offsets went back below the ledger's mark: their new events were applied. */
  offsetRegressions: OffsetRegression[];
}

interface VersionRow {
  data_type: string;
  version: string;
  hash: string;
  fence_token: string;
  updated_at: Date;
}

/** Kafka events (applied once per offset) and manual bumps' keys (partition -1, once per id). */
function bySource(events: LedgerEvent[]): { streamed: LedgerEvent[]; keyed: LedgerEvent[] } {
  // A saga's batch: Kafka events only, the array itself (the ledger groups it once).
  if (events.every((e) => e.partition >= 0)) return { streamed: events, keyed: [] };
  const streamed: LedgerEvent[] = [];
  const keyed: LedgerEvent[] = [];
  for (const event of events) (event.partition >= 0 ? streamed : keyed).push(event);
  return { streamed, keyed };
}

/**
 * The data types of the events. Events of one type share one read-only types array (the
 * plan's), so each distinct array is read once, not once per event.
 */
function typesOf(events: LedgerEvent[]): Set<string> {
  const types = new Set<string>();
  const seen = new Set<readonly string[]>();
  let last: readonly string[] | undefined;
  for (const { dataTypes } of events) {
    // Events of a type mostly come in runs: the array compared before it is looked up.
    if (dataTypes === last) continue;
    last = dataTypes;
    if (seen.has(dataTypes)) continue;
    seen.add(dataTypes);
    dataTypes.forEach((t) => types.add(t));
  }
  return types;
}

const toState = (row: VersionRow): VersionState => ({
  dataType: row.data_type,
  version: BigInt(row.version),
  hash: row.hash,
  updatedAt: row.updated_at,
});

type FenceResult = { affectedRows?: number; insertId?: number | string };

/** A version row read with its lock, and the server's clock (what a bump writes as updated_at). */
type LockedRow = VersionRow & { now: Date };

/** Every version row, latest committed, locked in primary-key order (the one lock order). */
const LOCK_ROWS: Statement = {
  sql: `SELECT data_type, version, hash, fence_token, updated_at, NOW(6) AS now
        FROM shop_data_versions ORDER BY data_type FOR UPDATE`,
  params: [],
};

/** What the pooled connection (mysql2's callback API) offers: queries queued in call order. */
interface QueuedConnection {
  query(
    options: { sql: string; timeout?: number },
    params: unknown[],
    done: (error: unknown, result: unknown) => void,
  ): void;
  execute: QueuedConnection['query'];
  destroy(): void;
}

/**
 * Statements in order on the transaction's connection, each statement's result in order; the
 * first that fails rejects the whole. All are handed to the connection at once: mysql2 queues
 * them and writes each as the one before is answered, so neither side waits for the other
 * between them. One statement per query all the same (with mysql2's multipleStatements the
 * SIGSTOP fault spec's instance stopped consuming for good under load, a query that never
 * settled). A statement after one that failed still runs: the version transaction runs with
 * autocommit off (AUTOCOMMIT_OFF), so after a deadlock, which ends the transaction, what
 * follows opens another that is never committed (the failure rolls it back).
 */
async function send(runner: QueryRunner, statements: Statement[]): Promise<unknown[]> {
  const connection = (await runner.connect()) as QueuedConnection;
  // Bounded as TypeORM bounds every statement (mysqlOptions), a timed-out one's connection gone.
  const { maxQueryExecutionTime: timeout } = runner.connection.options as {
    maxQueryExecutionTime?: number;
  };
  return Promise.all(
    statements.map(
      ({ sql, params, prepared }) =>
        new Promise((resolve, reject) =>
          connection[prepared ? 'execute' : 'query']({ sql, timeout }, params, (error, result) => {
            if (!error) return resolve(result);
            destroyIfTimedOut(error, connection);
            reject(error);
          }),
        ),
    ),
  );
}

/**
 * The version transaction opens with autocommit off instead of START TRANSACTION: it begins
 * with its first statement, and nothing sent after a failure can commit on its own. Set back
 * before the connection goes back to the pool: turning autocommit on commits the open
 * transaction (MySQL and MariaDB both document the implicit commit), so one statement is the
 * commit; a failed one fails the saga, which is then retried (the ledger skips what committed).
 */
const AUTOCOMMIT_OFF: Statement = { sql: 'SET autocommit = 0', params: [] };
const COMMIT: Statement[] = [{ sql: 'SET autocommit = 1', params: [] }];
const ROLLBACK: Statement[] = [
  { sql: 'ROLLBACK', params: [] },
  { sql: 'SET autocommit = 1', params: [] },
];

/**
 * The bump of `dataTypes` (+1, a new hash, the fence token) as one statement, and every
 * version row as the commit will leave it. The rows come from the locking read that opened
 * the transaction: it sees the latest committed rows (not the transaction's snapshot) and
 * holds them until the commit, so the global string built from them cannot be overtaken.
 */
function planBump(rows: LockedRow[], dataTypes: string[], fenceToken: bigint) {
  const bumped = rows
    .filter((r) => dataTypes.includes(r.data_type))
    .map((row) => {
      const previous = toState(row);
      const version = previous.version + 1n;
      const next: VersionState = {
        dataType: row.data_type,
        version,
        hash: versionHash(row.data_type, version, fenceToken),
        // What NOW(6) writes below, read with the locks (the same to the millisecond).
        updatedAt: row.now,
      };
      return { previous, next };
    });
  const byType = `CASE data_type ${bumped.map(() => 'WHEN ? THEN ?').join(' ')} END`;
  const update: Statement | undefined =
    bumped.length === 0
      ? undefined
      : {
          sql: `UPDATE shop_data_versions
                SET version = ${byType}, hash = ${byType}, fence_token = ?, updated_at = NOW(6)
                WHERE (data_type, version) IN (${bumped.map(() => '(?, ?)').join(', ')})
                  AND fence_token < ?`,
          params: [
            ...bumped.flatMap((b) => [b.next.dataType, String(b.next.version)]),
            ...bumped.flatMap((b) => [b.next.dataType, b.next.hash]),
            String(fenceToken),
            ...bumped.flatMap((b) => [b.previous.dataType, String(b.previous.version)]),
            String(fenceToken),
          ],
        };
  const next = new Map(bumped.map((b) => [b.next.dataType, b.next]));
  return { bumped, update, rows: rows.map((r) => next.get(r.data_type) ?? toState(r)) };
}

/** One audit row per bumped type, naming the manual bumps' keys that caused it. */
function auditStatement(
  bumped: { previous: VersionState; next: VersionState }[],
  keyed: LedgerEvent[],
  actor: string,
  fenceToken: bigint,
): Statement | undefined {
  if (bumped.length === 0) return undefined;
  const rows = bumped.map(({ previous, next }) => [
    next.dataType,
    String(previous.version),
    String(next.version),
    next.hash,
    String(fenceToken),
    actor,
    JSON.stringify(keyed.filter((e) => e.dataTypes.includes(next.dataType)).map((e) => e.eventId)),
  ]);
  return {
    sql: `INSERT INTO version_audit
            (data_type, old_version, new_version, new_hash, fence_token, actor, event_ids, created_at)
          VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, NOW(6))').join(', ')}`,
    params: rows.flat(),
  };
}

/** All SQL of the version transaction lives here, in the order it runs. */
@Injectable()
export class VersionRepository {
  private readonly sessionTimeouts = new WeakMap<object, string>();
  private readonly ledger = new OffsetLedger();
  /**
   * Types whose row this process has seen exist: their sagas skip createMissingRows' read. A
   * row removed since (only a validation run's throwaway types are, and they are never noted
   * here) is created inside the transaction by bumpFenced.
   */
  private readonly knownTypes = new Set<string>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async readAll(): Promise<VersionState[]> {
    const rows: VersionRow[] = await this.dataSource.query(
      'SELECT data_type, version, hash, fence_token, updated_at FROM shop_data_versions ORDER BY data_type',
    );
    return rows.map(toState);
  }

  /**
   * The versions an event bumped, from the audit (its rows name the entry): the earlier
   * outcome of a manual bump retried with the same idempotency key. The newest match is found
   * scanning back from the latest audit row; the bump's other rows sit next to it.
   */
  async auditedOutcome(eventId: string): Promise<VersionState[]> {
    const pattern = `%"${eventId}"%`;
    const [last]: { id: string; fence_token: string }[] = await this.dataSource.query(
      'SELECT id, fence_token FROM version_audit WHERE event_ids LIKE ? ORDER BY id DESC LIMIT 1',
      [pattern],
    );
    if (!last) return [];
    const rows: { data_type: string; new_version: string; new_hash: string; created_at: Date }[] =
      await this.dataSource.query(
        `SELECT data_type, new_version, new_hash, created_at FROM version_audit
         WHERE id BETWEEN ? - 64 AND ? AND fence_token = ? AND event_ids LIKE ? ORDER BY data_type`,
        [last.id, last.id, last.fence_token, pattern],
      );
    return rows.map((r) => ({
      dataType: r.data_type,
      version: BigInt(r.new_version),
      hash: r.new_hash,
      updatedAt: r.created_at,
    }));
  }

  /**
   * Runs `use` with every version row read under a shared lock, held until `use` returns: no
   * bump (lock or fallback path) can commit meanwhile, so what `use` writes elsewhere (Redis)
   * is the latest committed state and cannot be overtaken by an older one. Locks in key order,
   * as bumps do.
   */
  async withLockedVersions<T>(use: (rows: VersionState[]) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction('REPEATABLE READ');
      try {
        const rows: VersionRow[] = await runner.query(
          `SELECT data_type, version, hash, fence_token, updated_at FROM shop_data_versions
           ORDER BY data_type LOCK IN SHARE MODE`,
        );
        const result = await use(rows.map(toState));
        await runner.commitTransaction();
        return result;
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  /**
   * One REPEATABLE READ transaction: the events claimed (keys or offset ledger), fenced version
   * bump (+1, new hash, microsecond timestamp), one audit row per bumped type.
   */
  async bumpVersions(request: BumpRequest): Promise<BumpResult> {
    const runner = this.dataSource.createQueryRunner();
    // runner.connect() hands back the pooled mysql2 connection, reused across sagas.
    const connection = (await runner.connect()) as object;
    try {
      await this.setSessionTimeouts(
        runner,
        connection,
        Math.max(1, Math.ceil(request.lockWaitTimeoutMs / 1000)),
        request.sessionIdleTimeoutS,
      );
      await this.createMissingRows(runner, request);
      const sources = bySource(request.events);
      await this.ledger.ensureRows(runner, sources.streamed);
      // The opening statements start the transaction, take the next fencing token (its sequence
      // row stays locked to the commit, so tokens follow the commit order) and every lock it
      // needs: the partitions' ledger rows, then every version row (the one lock order). No
      // other bump can commit until this one does.
      const claimRead = this.ledger.claimRead(sources.streamed);
      const fence =
        request.fenceToken === undefined ? { sql: NEXT_FENCE_TOKEN_SQL, params: [] } : undefined;
      const reads = [fence, claimRead, LOCK_ROWS];
      const sent = reads.filter((r) => r !== undefined);
      try {
        // REPEATABLE READ is the session's level (setSessionTimeouts).
        const opened = await send(runner, [AUTOCOMMIT_OFF, ...sent]);
        const answer = (read: Statement | undefined) => read && opened[1 + sent.indexOf(read)];
        const locked = {
          fenceToken: request.fenceToken ?? fenceTokenOf(answer(fence) as FenceResult),
          ledger: (answer(claimRead) ?? []) as LedgerRow[],
          versions: answer(LOCK_ROWS) as LockedRow[],
        };
        const result = await this.bumpInTransaction(runner, request, sources, locked);
        await request.beforeCommit?.();
        await send(runner, COMMIT);
        return result;
      } catch (error) {
        await send(runner, ROLLBACK).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw typedMysqlError(error);
    } finally {
      await runner.release();
    }
  }

  /**
   * A type seen for the first time gets its version-0 row in a statement of its own, before
   * the transaction: inserting into a gap that other transactions wait to lock (every bump
   * locks all rows) deadlocks, while outside the transaction it merely waits its turn.
   */
  private async createMissingRows(runner: QueryRunner, request: BumpRequest): Promise<void> {
    const wanted = [...typesOf(request.events)].filter((t) => !this.knownTypes.has(t));
    if (wanted.length === 0) return;
    const existing: { data_type: string }[] = await runner.query(
      'SELECT data_type FROM shop_data_versions WHERE data_type IN (?)',
      [wanted],
    );
    const missing = wanted.filter((t) => !existing.some((r) => r.data_type === t)).sort();
    if (missing.length > 0) await this.insertRows(runner, missing);
    for (const t of wanted) if (!t.startsWith(THROWAWAY_TYPE_PREFIX)) this.knownTypes.add(t);
  }

  private insertRows(runner: QueryRunner, dataTypes: string[]): Promise<unknown> {
    return runner.query(
      `INSERT IGNORE INTO shop_data_versions (data_type, version, hash, fence_token, updated_at)
       VALUES ${dataTypes.map(() => "(?, 0, SHA2(CONCAT(?, ':0'), 256), 0, NOW(6))").join(', ')}`,
      dataTypes.flatMap((t) => [t, t]),
    );
  }

  /**
   * Once per pooled connection, not once per saga: they are session settings. The isolation
   * level too (REPEATABLE READ, what the version transaction needs whatever the server's default).
   */
  private async setSessionTimeouts(
    runner: QueryRunner,
    connection: object,
    lockWaitS: number,
    waitTimeoutS: number | undefined,
  ) {
    const wanted = `${lockWaitS}/${waitTimeoutS ?? ''}`;
    if (this.sessionTimeouts.get(connection) === wanted) return;
    if (waitTimeoutS === undefined)
      await runner.query('SET SESSION innodb_lock_wait_timeout = ?', [lockWaitS]);
    else
      await runner.query('SET SESSION innodb_lock_wait_timeout = ?, wait_timeout = ?', [
        lockWaitS,
        waitTimeoutS,
      ]);
    await runner.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    this.sessionTimeouts.set(connection, wanted);
  }

  private async bumpInTransaction(
    runner: QueryRunner,
    request: BumpRequest,
    sources: ReturnType<typeof bySource>,
    locked: { fenceToken: bigint; ledger: LedgerRow[]; versions: LockedRow[] },
  ): Promise<BumpResult> {
    const keyed = await this.insertKeys(runner, sources.keyed);
    const streamed = await this.ledger.claimFrom(runner, sources.streamed, locked.ledger);
    // A change event written again at a new offset is new to the ledger: its id tells it.
    const oncePerId = streamed.applied.filter((e) => e.oncePerId);
    const firstSeen = new Set(await this.insertKeys(runner, oncePerId));
    const fresh =
      oncePerId.length === 0
        ? streamed.applied
        : streamed.applied.filter((e) => !e.oncePerId || firstSeen.has(e));
    const applied = keyed.length === 0 ? fresh : [...keyed, ...fresh];
    const dataTypes = typesOf(applied);
    const { fenceToken } = locked;
    const types = [...dataTypes].sort();
    const versions = await this.withRowsOf(runner, types, locked.versions);
    const { bumped, rows, update } = planBump(versions, types, fenceToken);
    // The writes, in order: the bump, its audit (Kafka events are named by their
    // applied_batches rows, same fence token, not by the audit), the ledger's records.
    const audit = auditStatement(bumped, keyed, request.actor, fenceToken);
    const written = await send(runner, [
      ...(update ? [update] : []),
      ...(audit ? [audit] : []),
      ...this.ledger.recordStatements(fresh, fenceToken, streamed.regressions),
    ]);
    // A row already carrying a newer token: a later lock holder committed first.
    if (update && (written[0] as { affectedRows: number }).affectedRows !== bumped.length)
      throw new StaleFenceError(types.join(', '), String(fenceToken));
    return {
      current: rows,
      appliedEventIds: applied.map((e) => e.eventId),
      fenceToken,
      offsetRegressions: streamed.regressions,
    };
  }

  private async insertKeys(runner: QueryRunner, events: LedgerEvent[]): Promise<LedgerEvent[]> {
    if (events.length === 0) return [];
    const ids = events.map((e) => e.eventId);
    const seen: { event_id: string }[] = await runner.query(
      'SELECT event_id FROM processed_events WHERE event_id IN (?)',
      [ids],
    );
    const seenIds = new Set(seen.map((r) => r.event_id));
    const applied = events.filter((e) => !seenIds.has(e.eventId));
    if (applied.length > 0) {
      const rows = applied.map((e) => [e.eventId, e.topic, e.partition, e.offset]);
      const insert = await runner.query(
        `INSERT IGNORE INTO processed_events (event_id, topic, \`partition\`, \`offset\`, processed_at)
         VALUES ${rows.map(() => '(?, ?, ?, ?, NOW(6))').join(', ')}`,
        rows.flat(),
        true,
      );
      // A concurrent transaction (e.g. during a rebalance) took some of them first.
      if (insert.affected !== applied.length)
        throw new IdempotencyKeyRaceError(applied.map((e) => e.eventId));
    }
    return applied;
  }

  /**
   * The locked version rows, with a row for each of `dataTypes`: rows are created before the
   * transaction (createMissingRows); one removed since then (a throwaway type) is created
   * here. INSERT IGNORE on an existing row takes a shared lock, and two of those upgrading to
   * FOR UPDATE deadlock: never run it blindly.
   */
  private async withRowsOf(
    runner: QueryRunner,
    dataTypes: string[],
    rows: LockedRow[],
  ): Promise<LockedRow[]> {
    const missing = dataTypes.filter((t) => !rows.some((r) => r.data_type === t));
    if (missing.length === 0) return rows;
    await this.insertRows(runner, missing);
    return this.lockRows(runner);
  }

  /**
   * Every version row, latest committed, locked in primary-key order (the one lock order),
   * with the server's clock (`now`: what a bump writes as updated_at).
   */
  private lockRows(runner: QueryRunner): Promise<LockedRow[]> {
    return runner.query(LOCK_ROWS.sql);
  }

  /**
   * Moves versions past what clients have seen when MySQL went back (a restored backup, a
   * failover to a lagging replica): each type whose `floors` entry (what Redis holds) or audit
   * (what MySQL itself handed out) is above its row goes to one past the higher, so no version
   * number is handed out twice and versions keep increasing; Redis is never moved back. `global`
   * moves with any other type, as the global string derives from all of them. One transaction,
   * every row locked in key order as bumps do; each move audited. Returns the types moved.
   */
  async advancePast(
    floors: ReadonlyMap<string, bigint>,
    actor: string,
  ): Promise<{ dataType: string; from: bigint; to: bigint; seen: bigint }[]> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction('REPEATABLE READ');
      try {
        const rows = await this.lockRows(runner);
        // A plain read after the locks: its snapshot opens now, with every bump's audit committed.
        const audited: { data_type: string; v: string }[] = await runner.query(
          'SELECT data_type, MAX(new_version) AS v FROM version_audit GROUP BY data_type',
        );
        const seen = (row: VersionRow) => {
          const a = BigInt(audited.find((r) => r.data_type === row.data_type)?.v ?? 0);
          const f = floors.get(row.data_type) ?? 0n;
          return a > f ? a : f;
        };
        const behind = rows.filter((r) => seen(r) > BigInt(r.version));
        if (behind.length === 0) {
          await runner.commitTransaction();
          return [];
        }
        const moving = rows.filter((r) => behind.includes(r) || r.data_type === 'global');
        const moves = moving.map((r) => {
          const highest = seen(r) > BigInt(r.version) ? seen(r) : BigInt(r.version);
          return {
            row: r,
            dataType: r.data_type,
            from: BigInt(r.version),
            to: highest + 1n,
            seen: highest,
          };
        });
        for (const m of moves) {
          const hash = versionHash(m.dataType, m.to, BigInt(m.row.fence_token));
          await runner.query(
            `UPDATE shop_data_versions SET version = ?, hash = ?, updated_at = NOW(6)
             WHERE data_type = ?`,
            [String(m.to), hash, m.dataType],
          );
          await runner.query(
            `INSERT INTO version_audit
               (data_type, old_version, new_version, new_hash, fence_token, actor, event_ids, created_at)
             VALUES (?, ?, ?, ?, ?, ?, '[]', NOW(6))`,
            [m.dataType, String(m.from), String(m.to), hash, m.row.fence_token, actor],
          );
        }
        await runner.commitTransaction();
        return moves.map(({ dataType, from, to, seen: s }) => ({ dataType, from, to, seen: s }));
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }
}
