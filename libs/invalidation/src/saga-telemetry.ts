import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import {
  AlertService,
  CircuitBreakerService,
  InvalidatorMetrics,
  SagaStage,
  SagaStats,
} from '@invalidator/monitoring';
import { OffsetRegression, THROWAWAY_TYPE_PREFIX, VersionState } from '@invalidator/versioning';
import { IncomingMessage } from './incoming-batch';
import { BatchAbandonedError, OffsetCommitError } from './saga-errors';
import { SAGA_LOG } from './saga-log';
import { StageClock } from './stage-clock';
import { BatchRun, SagaReport, SagaWork, SkipReason, ValidEvent, eventTypeOf } from './saga-work';

/** A bounded label for the retry metric: the driver's code, else the error's type. */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'Error';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}

/**
 * Everything the saga reports — metrics, figures, alerts, log lines — in one place: each step
 * makes one call here, and a dashboard and a grep find the same words.
 */
@Injectable()
export class SagaTelemetry {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: InvalidatorMetrics,
    private readonly stats: SagaStats,
    private readonly alerts: AlertService,
    @InjectPinoLogger('InvalidationSaga') private readonly logger: PinoLogger,
  ) {}

  /** A clock for one attempt's stages, each observed into the stage histogram. */
  stageClock(): StageClock {
    return new StageClock((stage: SagaStage, ms: number) =>
      this.metrics.stageDuration.observe({ stage }, ms / 1000),
    );
  }

  /** Starts the lock-acquire timer; the returned function ends it with the outcome. */
  lockAttempt(): (outcome: 'acquired' | 'unavailable' | 'error') => void {
    const end = this.metrics.lockAcquireDuration.startTimer();
    return (outcome) => end({ outcome });
  }

  fallback(work: SagaWork): void {
    this.metrics.lockFailures.inc({ reason: 'unavailable' });
    this.metrics.lockFallbacks.inc();
    this.logger.warn(
      { data_types: work.dataTypes, event_ids: work.events.map((e) => e.eventId) },
      SAGA_LOG.fallback,
    );
  }

  versionsPublished(current: VersionState[]): void {
    // A validation run's throwaway types come and go: a label each would never be removed.
    for (const v of current)
      if (!v.dataType.startsWith(THROWAWAY_TYPE_PREFIX))
        this.metrics.dataVersion.set({ type: v.dataType }, Number(v.version));
  }

  /**
   * Partitions whose offsets went back below the ledger's mark (a topic recreated, a log
   * truncated, another Kafka cluster): their events were applied as new, which costs cache
   * misses; the operator must know, as a skipped event would have gone unnoticed.
   */
  offsetRegressed(regressions: OffsetRegression[]): void {
    for (const regression of regressions) {
      this.metrics.offsetRegressions.inc();
      void this.alerts.raise({
        kind: 'offset_regression',
        severity: 'CRITICAL',
        message:
          `partition ${regression.topic}/${regression.partition} delivered offset ${regression.firstOffset}, ` +
          `below the ledger's ${regression.ledgerNextOffset}, with events the ledger never applied: ` +
          'applied them as new and moved the ledger to the new offsets',
        correctiveAction:
          'Find why the offsets went back: the topic deleted and recreated, an unclean leader election ' +
          'truncating the log, or this database now behind another Kafka cluster. Nothing is stale ' +
          '(the events were applied); events lost from a truncated log must be republished.',
        details: {
          topic: regression.topic,
          partition: regression.partition,
          ledger_next_offset: regression.ledgerNextOffset,
          first_offset: regression.firstOffset,
          events: regression.events,
        },
      });
    }
  }

  /** One failed attempt of a batch; the breaker's own refusals are not attempts. */
  attemptFailed(error: unknown, attemptStartedMs: number): void {
    if (CircuitBreakerService.isRefusal(error)) return;
    const seconds = (performance.now() - attemptStartedMs) / 1000;
    this.metrics.sagaDuration.observe({ outcome: 'error', path: 'unknown' }, seconds);
  }

  retrying(error: unknown, attempt: number, work: SagaWork): void {
    const eventIds = work.events.map((e) => e.eventId);
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
  }

  manualBumpRetrying(error: unknown): void {
    this.metrics.sagaRetries.inc({ error: errorName(error) });
  }

  poison(event: ValidEvent, error: unknown): void {
    this.logger.error(
      { event_ids: [event.eventId], data_types: event.dataTypes, err: error },
      SAGA_LOG.poison,
    );
  }

  /** A batch checked: on the main thread, or on the check thread (check-thread.ts). */
  checked(thread: 'main' | 'check'): void {
    this.metrics.batchesChecked.inc({ thread });
  }

  checkThreadFailed(error: unknown, events: number): void {
    this.logger.warn({ err: error, events }, SAGA_LOG.checkThreadFailed);
  }

  heartbeatFailed(error: unknown, events: number): void {
    this.logger.warn({ err: error, events }, SAGA_LOG.heartbeatFailed);
  }

  /** A batch left uncommitted: it is fetched again (a failed commit: the ledger skips it). */
  batchFailed(error: unknown, messages: IncomingMessage[]): void {
    const partitions = [...new Set(messages.map((m) => `${m.topic}/${m.partition}`))];
    if (error instanceof BatchAbandonedError)
      this.logger.warn({ partitions, event_count: error.eventIds.length }, SAGA_LOG.abandoned);
    else if (error instanceof OffsetCommitError)
      this.logger.error({ partitions, err: error.cause }, SAGA_LOG.commitFailed);
    else this.logger.error({ partitions, err: error }, SAGA_LOG.failed);
  }

  /** A batch validated: its events by source (contract or cdc), the change events skipped. */
  validated(valid: ValidEvent[], copies: ValidEvent[], skipped: SkipReason[]): void {
    let cdc = 0;
    for (const e of valid) if (e.committedAtMs !== undefined) cdc++;
    for (const e of copies) if (e.committedAtMs !== undefined) cdc++;
    const contract = valid.length + copies.length - cdc;
    if (contract > 0) this.metrics.eventsBySource.inc({ source: 'contract' }, contract);
    if (cdc > 0) this.metrics.eventsBySource.inc({ source: 'cdc' }, cdc);
    for (const reason of skipped) this.metrics.cdcSkipped.inc({ reason });
  }

  /** A batch committed: its metrics, figures, slow-saga alert and the saga log line. */
  completed(report: SagaReport, run: BatchRun, copies: ValidEvent[], startedMs: number) {
    const { events: valid, deadLettered: invalid } = run;
    const seconds = (performance.now() - startedMs) / 1000;
    this.metrics.sagaDuration.observe({ outcome: 'success', path: report.path }, seconds);
    this.metrics.batchSize.observe(valid.length + invalid.length);
    this.metrics.keysPurged.inc(report.invalidatedKeys);
    // After the purge: from each applied change's commit to now (a change Connect delivered
    // again is not purged by this saga: its lag would be the replay's, not the change's).
    // What the transactions applied, of the batch's valid events; the rest were duplicates.
    // Each valid id is distinct, and each applied one is valid: as many applied, all applied.
    const applied = report.appliedEventIds.size;
    const isApplied = (id: string) => applied === valid.length || report.appliedEventIds.has(id);
    const now = Date.now();
    for (const { eventId, committedAtMs } of valid)
      if (committedAtMs !== undefined && isApplied(eventId))
        this.metrics.cdcLag.observe((now - committedAtMs) / 1000);
    const duplicates = valid.length - applied + copies.length;
    // Counted per type and outcome, then one increment each: a saga carries thousands of events,
    // mostly in runs of one type (a run counted at its end).
    const counts = new Map<string, Record<string, number>>();
    const count = (type: string, outcome: string, n = 1) => {
      let byOutcome = counts.get(type);
      if (!byOutcome) counts.set(type, (byOutcome = {}));
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + n;
    };
    for (const letter of invalid) {
      this.metrics.deadLetters.inc({ reason: letter.kind });
      count(eventTypeOf(letter.message), 'dead_lettered');
    }
    let streak = { type: '', outcome: '', n: 0 };
    for (const { type, eventId } of valid) {
      const outcome = isApplied(eventId) ? 'applied' : 'duplicate';
      if (type === streak.type && outcome === streak.outcome) streak.n++;
      else {
        if (streak.n > 0) count(streak.type, streak.outcome, streak.n);
        streak = { type, outcome, n: 1 };
      }
    }
    if (streak.n > 0) count(streak.type, streak.outcome, streak.n);
    for (const { type } of copies) count(type, 'duplicate');
    for (const [type, byOutcome] of counts)
      for (const [outcome, n] of Object.entries(byOutcome))
        this.metrics.events.inc({ type, outcome }, n);
    const durationMs = seconds * 1000;
    this.stats.success(durationMs, {
      applied,
      duplicate: duplicates,
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
          event_ids: valid.slice(0, 20).map((v) => v.eventId),
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
        duplicates,
        dead_lettered: invalid.length,
        path: report.path,
        outcome: 'success',
        stages_ms: report.stages.rounded(),
      },
      SAGA_LOG.completed,
    );
  }
}
