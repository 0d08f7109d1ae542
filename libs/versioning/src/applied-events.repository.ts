import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { mysqlOptions } from '@invalidator/mysql';
import { EventLookupBusyError, EventLookupTimeoutError } from './errors';
import { unpackEvents } from './offset-ledger';

/** Where and when an event was applied (within the retention window). */
export interface AppliedEvent {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
  appliedAt: Date;
  fenceToken: string;
}

/** A statement ended by its server-side time limit: MariaDB's and MySQL's numbers. */
const STATEMENT_TIME_LIMIT_ERRNOS = new Set([
  1969, // ER_STATEMENT_TIMEOUT (MariaDB, max_statement_time)
  3024, // ER_QUERY_TIMEOUT (MySQL, MAX_EXECUTION_TIME)
]);
/** mysql2's client-side timeout, the backstop should the server's limit not fire. */
const CLIENT_TIMED_OUT = 'PROTOCOL_SEQUENCE_TIMEOUT';

interface LookupStore {
  dataSource: DataSource;
  mariadb: boolean;
}

/**
 * Answers "was this event applied, and when?" from the ledger's batches and the bump keys. An
 * operator's question must never cost the consumer: lookups run on their own small pool (never
 * a saga's connection), at most EVENT_LOOKUP_CONCURRENCY at once (more are refused, not
 * queued), each statement ended by the server after EVENT_LOOKUP_TIMEOUT_MS (a client that gave
 * up leaves nothing scanning), over the batches of the last EVENT_LOOKUP_WINDOW_MINUTES only.
 */
@Injectable()
export class AppliedEventsRepository implements OnApplicationShutdown {
  private running = 0;
  private store?: Promise<LookupStore>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Every application of the event id (a producer's duplicate at a new offset is another). */
  async find(eventId: string): Promise<AppliedEvent[]> {
    const concurrency = this.config.EVENT_LOOKUP_CONCURRENCY;
    if (this.running >= concurrency) throw new EventLookupBusyError(concurrency);
    this.running++;
    try {
      return await this.search(eventId.toLowerCase(), await this.connect());
    } catch (error) {
      const { errno, code } = (error ?? {}) as { errno?: unknown; code?: unknown };
      if (
        (typeof errno === 'number' && STATEMENT_TIME_LIMIT_ERRNOS.has(errno)) ||
        code === CLIENT_TIMED_OUT
      )
        throw new EventLookupTimeoutError(
          this.config.EVENT_LOOKUP_TIMEOUT_MS,
          this.config.EVENT_LOOKUP_WINDOW_MINUTES,
        );
      throw error;
    } finally {
      this.running--;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const store = await this.store?.catch(() => undefined);
    this.store = undefined;
    if (store?.dataSource.isInitialized) await store.dataSource.destroy();
  }

  /** The lookups' own pool, opened on the first lookup (start-up and the CLI's other commands pay nothing). */
  private connect(): Promise<LookupStore> {
    this.store ??= (async () => {
      const dataSource = new DataSource(
        mysqlOptions({
          ...this.config,
          MYSQL_POOL_SIZE: this.config.EVENT_LOOKUP_CONCURRENCY,
          MYSQL_MIGRATIONS_RUN: false,
          MYSQL_QUERY_TIMEOUT_MS: this.config.EVENT_LOOKUP_TIMEOUT_MS + 2000,
        }),
      );
      await dataSource.initialize();
      const [server]: { version: string }[] = await dataSource.query('SELECT VERSION() AS version');
      return { dataSource, mariadb: /mariadb/i.test(server.version) };
    })().catch((error: unknown) => {
      this.store = undefined;
      throw error;
    });
    return this.store;
  }

  /** A SELECT the server itself ends after EVENT_LOOKUP_TIMEOUT_MS. */
  private bounded(store: LookupStore, select: string): string {
    const ms = this.config.EVENT_LOOKUP_TIMEOUT_MS;
    return store.mariadb
      ? `SET STATEMENT max_statement_time = ${ms / 1000} FOR ${select}`
      : select.replace(/^SELECT /, `SELECT /*+ MAX_EXECUTION_TIME(${ms}) */ `);
  }

  private async search(id: string, store: LookupStore): Promise<AppliedEvent[]> {
    const found: AppliedEvent[] = [];
    const keyed: { topic: string; partition: number; offset: string; processed_at: Date }[] =
      await store.dataSource.query(
        this.bounded(
          store,
          'SELECT topic, `partition`, `offset`, processed_at FROM processed_events WHERE event_id = ?',
        ),
        [id],
      );
    for (const row of keyed)
      found.push({
        eventId: id,
        topic: row.topic,
        partition: row.partition,
        offset: String(row.offset),
        appliedAt: row.processed_at,
        fenceToken: '',
      });
    // The packed ids have no index: scan the window's batches only (by their applied_at key).
    const batches: {
      topic: string;
      partition: number;
      first_offset: string;
      event_ids: Buffer;
      fence_token: string;
      applied_at: Date;
    }[] = await store.dataSource.query(
      this.bounded(
        store,
        `SELECT topic, \`partition\`, first_offset, event_ids, fence_token, applied_at
         FROM applied_batches
         WHERE applied_at >= NOW(6) - INTERVAL ? MINUTE AND LOCATE(UNHEX(?), event_ids) > 0
         ORDER BY id`,
      ),
      [this.config.EVENT_LOOKUP_WINDOW_MINUTES, id.replace(/-/g, '')],
    );
    for (const batch of batches) {
      for (const event of unpackEvents(batch.event_ids, BigInt(batch.first_offset))) {
        if (event.eventId !== id) continue;
        found.push({
          eventId: id,
          topic: batch.topic,
          partition: batch.partition,
          offset: event.offset.toString(),
          appliedAt: batch.applied_at,
          fenceToken: String(batch.fence_token),
        });
      }
    }
    return found;
  }
}
