import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import {
  InvalidEventError,
  ShopEvent,
  manualBumpEventId,
  parseEvent,
  planFor,
} from '@invalidator/contracts';
import { TagPurger, VersionPublisher } from '@invalidator/cache';
import {
  FencedLock,
  LockLostError,
  LockService,
  LockUnavailableError,
  backoffDelay,
  sleep,
} from '@invalidator/locking';
import {
  AlertService,
  CircuitBreakerService,
  InvalidatorMetrics,
  SagaStage,
  SagaStats,
} from '@invalidator/monitoring';
import {
  InboxEntry,
  InboxRaceError,
  StaleFenceError,
  THROWAWAY_TYPE_PREFIX,
  VersionRepository,
  VersionState,
  globalVersionString,
} from '@invalidator/versioning';
import { DeadLetter, DeadLetterPublisher } from '../kafka/dead-letter.publisher';
import { IncomingBatch, IncomingMessage, heartbeatIntervalMs } from '../kafka/incoming-batch';
import { BatchLease } from './batch-lease';
import { BatchAbandonedError, IdempotencyKeyReusedError } from './saga-errors';
import { errorName, failureKind } from './failure-kind';
import { SAGA_LOG } from './saga-log';

/** The event type of a message for metrics: one of the contract's, or 'unknown'. */
function typeOf(message: IncomingMessage): string {
  const type = /"type"\s*:\s*"(ProductUpdated|CategoryUpdated)"/.exec(
    message.value?.toString() ?? '',
  );
  return type?.[1] ?? 'unknown';
}

/** Attempts failing with a data error before the batch is searched for the message at fault. */
const POISON_BUDGET = 3;
const ISOLATION_ATTEMPTS = 2;
const MANUAL_BUMP_ATTEMPTS = 12;

interface ValidEvent {
  message: IncomingMessage;
  event: ShopEvent;
}

/** A batch coalesced into one unit of work: one lock set, one transaction, one purge. */
interface SagaWork {
  inbox: InboxEntry[];
  dataTypes: string[];
  tags: string[];
  actor: string;
  /** Types bumped with no event behind them (manual bumps). */
  manualDataTypes: string[];
}

/** The inbox topic of manual bumps made with an idempotency key (no Kafka partition: -1). */
const MANUAL_BUMP_TOPIC = 'manual-bump';

export interface ManualBumpResult {
  versions: { dataType: string; version: number; hash: string }[];
  /** The bump's idempotency key, when it had one. */
  idempotencyKey?: string;
  /**
   * The key had been applied before this attempt (an earlier request, or an earlier attempt of
   * this one that failed after its COMMIT): nothing was bumped again, `versions` is that outcome.
   */
  replayed: boolean;
  invalidatedKeys: number;
  path: 'lock' | 'fallback';
  lockWaitMs: number;
  durationMs: number;
}

interface SagaReport {
  path: 'lock' | 'fallback';
  dataTypes: string[];
  appliedEventIds: Set<string>;
  invalidatedKeys: number;
  versions: VersionState[];
  lockWaitMs: number;
}

/**
 * The invalidation saga, in the order of DESIGN.md: validate, coalesce, lock, transaction,
 * publish versions, purge, release, commit offsets, metrics and log. Nothing else knows the order.
 */
@Injectable()
export class InvalidationSaga {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly locks: LockService,
    private readonly versions: VersionRepository,
    private readonly publisher: VersionPublisher,
    private readonly purger: TagPurger,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly metrics: InvalidatorMetrics,
    private readonly breaker: CircuitBreakerService,
    private readonly stats: SagaStats,
    private readonly alerts: AlertService,
    @InjectPinoLogger('InvalidationSaga') private readonly logger: PinoLogger,
  ) {
    // Lost races and bad messages say nothing about the stores' health.
    breaker.ignore(
      (error) =>
        error instanceof StaleFenceError ||
        error instanceof InboxRaceError ||
        error instanceof LockLostError ||
        error instanceof BatchAbandonedError ||
        failureKind(error) === 'message',
    );
  }

  /** Runs a batch to its commit, retrying transient failures with back-off; never skips an event. */
  async handle(batch: IncomingBatch): Promise<void> {
    const started = performance.now();
    const { valid, invalid } = this.validate(batch.messages);
    let events = valid;
    let unsent = invalid;
    const deadLettered: DeadLetter[] = [...invalid];
    const appliedAlone = new Set<string>();
    let messageFaults = 0;
    let report: SagaReport | undefined;
    // Heartbeats run on a timer for the whole saga: no step, wait or back-off outlives the session.
    const lease = new BatchLease(
      batch,
      () => events.map((e) => e.event.eventId),
      heartbeatIntervalMs(this.config.KAFKA_SESSION_TIMEOUT_MS),
      (error) => this.logger.warn({ err: error, events: events.length }, SAGA_LOG.heartbeatFailed),
    );
    try {
      for (let attempt = 0; report === undefined; attempt++) {
        let work = this.coalesce(events);
        const attemptStarted = performance.now();
        try {
          lease.check();
          if (messageFaults >= POISON_BUDGET) {
            const poison = await this.isolatePoison(events, appliedAlone, lease);
            events = events.filter((e) => !poison.some((p) => p.message === e.message));
            work = this.coalesce(events);
            unsent = [...unsent, ...poison];
            deadLettered.push(...poison);
            messageFaults = 0;
          }
          // Dead letters go out before the commit, so a crash can only repeat them, never lose them.
          await this.deadLetters.publish(unsent);
          unsent = [];
          report = await this.apply(work, lease);
        } catch (error) {
          if (error instanceof BatchAbandonedError) throw error;
          if (failureKind(error) === 'message') messageFaults++;
          if (!CircuitBreakerService.isRefusal(error)) {
            const seconds = (performance.now() - attemptStarted) / 1000;
            this.metrics.sagaDuration.observe({ outcome: 'error', path: 'unknown' }, seconds);
          }
          await this.afterFailure(error, attempt, work, lease);
        }
      }
      lease.check();
      await batch.commit();
    } finally {
      lease.end();
    }
    appliedAlone.forEach((id) => report.appliedEventIds.add(id));
    this.record(report, events, deadLettered, started);
  }

  /**
   * A batch keeps failing with a data error: run its events one by one to find the ones at
   * fault. Only those go to the dead-letter topic; a transient error stops the search.
   */
  private async isolatePoison(
    events: ValidEvent[],
    applied: Set<string>,
    lease: BatchLease,
  ): Promise<DeadLetter[]> {
    const poison: DeadLetter[] = [];
    for (const event of events) {
      for (let attempt = 1; ; attempt++) {
        lease.check();
        try {
          const report = await this.apply(this.coalesce([event]), lease);
          report.appliedEventIds.forEach((id) => applied.add(id));
          break;
        } catch (error) {
          if (failureKind(error) !== 'message') throw error;
          if (attempt < ISOLATION_ATTEMPTS) continue;
          const reason = `poison: ${(error as Error).message} (failed ${POISON_BUDGET + attempt} attempts)`;
          poison.push({ message: event.message, kind: 'poison', reason });
          this.logger.error(
            {
              event_ids: [event.event.eventId],
              data_types: planFor(event.event).dataTypes,
              err: error,
            },
            SAGA_LOG.poison,
          );
          break;
        }
      }
    }
    return poison;
  }

  private validate(messages: IncomingMessage[]) {
    const valid: ValidEvent[] = [];
    const invalid: DeadLetter[] = [];
    const seen = new Set<string>();
    for (const message of messages) {
      try {
        const event = parseEvent(message.value);
        // The same event twice in one batch is applied once; the second copy is a duplicate.
        if (!seen.has(event.eventId)) valid.push({ message, event });
        seen.add(event.eventId);
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        invalid.push({ message, kind: error.kind, reason: error.reason });
      }
    }
    return { valid, invalid };
  }

  private coalesce(valid: ValidEvent[]): SagaWork {
    const dataTypes = new Set<string>();
    const tags = new Set<string>();
    const inbox = valid.map(({ message, event }) => {
      const plan = planFor(event);
      plan.dataTypes.forEach((t) => dataTypes.add(t));
      plan.tags.forEach((t) => tags.add(t));
      return {
        eventId: event.eventId,
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        dataTypes: plan.dataTypes,
      };
    });
    return {
      inbox,
      dataTypes: [...dataTypes].sort(),
      tags: [...tags],
      actor: 'consumer',
      manualDataTypes: [],
    };
  }

  /**
   * The manual atomic update (CLI and admin route): the same lock, transaction, publish and
   * purge as an event, with `global` bumped too and each type's own tag purged. Validation
   * runs leave `global` alone (`withGlobal: false`): their throwaway types must not disturb it.
   * With an idempotency key the bump goes through the inbox like an event: however often it is
   * retried (here after a failure past COMMIT, or by the caller), the key bumps once.
   */
  async bumpManually(
    dataTypes: string[],
    actor: string,
    options: { withGlobal?: boolean; idempotencyKey?: string } = {},
  ): Promise<ManualBumpResult> {
    const withGlobal = options.withGlobal ?? true;
    const types = [...new Set([...dataTypes, ...(withGlobal ? ['global'] : [])])].sort();
    const started = performance.now();
    const key = options.idempotencyKey;
    const inboxId = key === undefined ? undefined : manualBumpEventId(key);
    const work: SagaWork = {
      inbox: inboxId
        ? [
            {
              eventId: inboxId,
              topic: MANUAL_BUMP_TOPIC,
              partition: -1,
              offset: '0',
              dataTypes: types,
            },
          ]
        : [],
      dataTypes: types,
      tags: types,
      actor,
      manualDataTypes: inboxId ? [] : types,
    };
    const report = await this.applyWithRetries(work);
    const replayed = inboxId !== undefined && !report.appliedEventIds.has(inboxId);
    const versions = replayed
      ? await this.earlierOutcome(inboxId, types, report.versions)
      : report.versions;
    return {
      versions: versions
        .filter((v) => types.includes(v.dataType))
        .map((v) => ({ dataType: v.dataType, version: Number(v.version), hash: v.hash })),
      ...(key === undefined ? {} : { idempotencyKey: key }),
      replayed,
      invalidatedKeys: report.invalidatedKeys,
      path: report.path,
      lockWaitMs: report.lockWaitMs,
      durationMs: performance.now() - started,
    };
  }

  /** What the key's first application bumped (from the audit); refused if it bumped other types. */
  private async earlierOutcome(
    inboxId: string,
    types: string[],
    current: VersionState[],
  ): Promise<VersionState[]> {
    const earlier = await this.versions.auditedOutcome(inboxId);
    // Past the audit's retention: the current versions; at least nothing was bumped again.
    if (earlier.length === 0) return current;
    const earlierTypes = earlier.map((v) => v.dataType);
    if (earlierTypes.join() !== types.join())
      throw new IdempotencyKeyReusedError(types, earlierTypes);
    return earlier;
  }

  /** A manual bump has no Kafka redelivery behind it: retry transient failures here, bounded. */
  private async applyWithRetries(work: SagaWork): Promise<SagaReport> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.apply(work);
      } catch (error) {
        if (failureKind(error) === 'message' || attempt + 1 >= MANUAL_BUMP_ATTEMPTS) throw error;
        this.metrics.sagaRetries.inc({ error: errorName(error) });
        await sleep(
          backoffDelay(attempt, this.config.LOCK_RETRY_DELAY_MS, this.config.RETRY_MAX_DELAY_MS),
        );
      }
    }
  }

  private async apply(work: SagaWork, lease?: BatchLease): Promise<SagaReport> {
    if (work.inbox.length === 0 && work.manualDataTypes.length === 0) {
      return {
        path: 'lock',
        dataTypes: [],
        appliedEventIds: new Set(),
        invalidatedKeys: 0,
        versions: [],
        lockWaitMs: 0,
      };
    }
    // The breaker counts every attempt; while it is open it refuses at once.
    return this.breaker.fire(() => this.applyLocked(work, lease));
  }

  private async applyLocked(work: SagaWork, lease?: BatchLease): Promise<SagaReport> {
    const lockStarted = performance.now();
    const lock = await this.timed('lock', () => this.lockOrFallback(work));
    const lockWaitMs = performance.now() - lockStarted;
    try {
      lease?.check();
      const fenceToken = lock?.fenceToken ?? (await this.locks.nextFenceToken());
      const result = await this.timed('transaction', () =>
        this.versions.bumpVersions({
          events: work.inbox,
          extraDataTypes: work.manualDataTypes,
          fenceToken,
          actor: work.actor,
          lockWaitTimeoutMs: this.config.VERSION_LOCK_TIMEOUT_MS,
          sessionIdleTimeoutS: this.config.MYSQL_WAIT_TIMEOUT_S,
          beforeCommit: async () => {
            // A batch revoked meanwhile is its new owner's to apply: roll back, commit nothing.
            lease?.check();
            await lock?.ensureValid(this.config.LOCK_TTL_MS / 5);
          },
        }),
      );
      // Versions go out before the purge: the web tier keys on them, so every older entry is
      // unreachable from here on even if the purge below fails and is retried.
      await this.timed('publish', () =>
        this.publisher.publish(result.current, globalVersionString(result.current)),
      );
      // A validation run's throwaway types come and go: a label each would never be removed.
      for (const v of result.current)
        if (!v.dataType.startsWith(THROWAWAY_TYPE_PREFIX))
          this.metrics.dataVersion.set({ type: v.dataType }, Number(v.version));
      const purged = await this.timed('purge', () => this.purger.purge(work.tags));
      return {
        path: lock ? 'lock' : 'fallback',
        dataTypes: work.dataTypes,
        appliedEventIds: new Set(result.appliedEventIds),
        invalidatedKeys: purged.keys,
        versions: result.current,
        lockWaitMs,
      };
    } finally {
      await lock?.release();
    }
  }

  private async timed<T>(stage: SagaStage, step: () => Promise<T>): Promise<T> {
    const end = this.metrics.stageDuration.startTimer({ stage });
    try {
      return await step();
    } finally {
      end();
    }
  }

  private async lockOrFallback(work: SagaWork): Promise<FencedLock | undefined> {
    const end = this.metrics.lockAcquireDuration.startTimer();
    try {
      const lock = await this.locks.acquireFenced(work.dataTypes);
      end({ outcome: 'acquired' });
      return lock;
    } catch (error) {
      end({ outcome: error instanceof LockUnavailableError ? 'unavailable' : 'error' });
      if (!(error instanceof LockUnavailableError)) throw error;
      this.metrics.lockFailures.inc({ reason: 'unavailable' });
      this.metrics.lockFallbacks.inc();
      this.logger.warn(
        { data_types: work.dataTypes, event_ids: work.inbox.map((e) => e.eventId) },
        SAGA_LOG.fallback,
      );
      return undefined;
    }
  }

  private async afterFailure(error: unknown, attempt: number, work: SagaWork, lease: BatchLease) {
    const eventIds = work.inbox.map((e) => e.eventId);
    this.metrics.sagaRetries.inc({ error: errorName(error) });
    if (!CircuitBreakerService.isRefusal(error)) this.stats.failure();
    this.logger.warn(
      {
        err: error,
        attempt,
        data_types: work.dataTypes,
        event_ids: eventIds.slice(0, 20),
        events: eventIds.length,
      },
      SAGA_LOG.retry,
    );
    lease.check();
    let remaining = backoffDelay(
      attempt,
      this.config.LOCK_RETRY_DELAY_MS,
      this.config.RETRY_MAX_DELAY_MS,
    );
    while (remaining > 0) {
      const slice = Math.min(remaining, 1000);
      await sleep(slice);
      remaining -= slice;
      lease.check();
    }
  }

  private record(report: SagaReport, valid: ValidEvent[], invalid: DeadLetter[], started: number) {
    const seconds = (performance.now() - started) / 1000;
    this.metrics.sagaDuration.observe({ outcome: 'success', path: report.path }, seconds);
    this.metrics.batchSize.observe(valid.length + invalid.length);
    this.metrics.keysPurged.inc(report.invalidatedKeys);
    for (const letter of invalid) {
      this.metrics.deadLetters.inc({ reason: letter.kind });
      this.metrics.events.inc({ type: typeOf(letter.message), outcome: 'dead_lettered' });
    }
    let applied = 0;
    for (const { event } of valid) {
      const outcome = report.appliedEventIds.has(event.eventId) ? 'applied' : 'duplicate';
      if (outcome === 'applied') applied++;
      this.metrics.events.inc({ type: event.type, outcome });
    }
    const durationMs = seconds * 1000;
    this.stats.success(durationMs, {
      applied,
      duplicate: valid.length - applied,
      deadLettered: invalid.length,
    });
    if (durationMs > this.config.PERFORMANCE_THRESHOLD_MS) {
      void this.alerts.raise({
        kind: 'slow_saga',
        severity: 'WARNING',
        message: `invalidation saga took ${Math.round(durationMs)} ms, over the ${this.config.PERFORMANCE_THRESHOLD_MS} ms threshold`,
        correctiveAction:
          'Check MySQL row-lock waits and Redis latency (stage durations in /metrics); a lock fallback or ' +
          'retries inflate a saga. Sustained: scale out partitions/instances or raise PERFORMANCE_THRESHOLD_MS.',
        details: {
          duration_ms: Math.round(durationMs),
          data_types: report.dataTypes,
          events: valid.length,
          event_ids: valid.slice(0, 20).map((v) => v.event.eventId),
          path: report.path,
        },
      });
    }
    this.logger.info(
      {
        data_types: report.dataTypes,
        invalidated_keys: report.invalidatedKeys,
        duration_ms: Math.round(seconds * 1000),
        events: valid.length,
        applied,
        duplicates: valid.length - applied,
        dead_lettered: invalid.length,
        path: report.path,
        outcome: 'success',
      },
      SAGA_LOG.completed,
    );
  }
}
