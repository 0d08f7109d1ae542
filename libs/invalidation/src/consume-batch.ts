import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { dispositionOf } from '@invalidator/contracts';
import { BatchLease } from './batch-lease';
import { CheckThread } from './check-thread';
import { DEAD_LETTER_SINK, DeadLetter, DeadLetterSink } from './dead-letters';
import { IncomingBatch, batchWaits, heartbeatIntervalMs } from './incoming-batch';
import { InvalidationSaga } from './invalidation.saga';
import { POISON_BUDGET, isolatePoison } from './poison';
import { withRetries } from './retry';
import { OffsetCommitError, StoreRefusedError } from './saga-errors';
import { SagaTelemetry } from './saga-telemetry';
import {
  BatchRun,
  CheckedMessages,
  SagaReport,
  SagaWork,
  ValidEvent,
  check,
  coalesce,
  dedupe,
} from './saga-work';

/** A batch's check under way or done; undefined when it threw or the check thread failed. */
type Check = CheckedMessages | Promise<CheckedMessages | undefined> | undefined;

/**
 * A consumer batch, in the order of docs/ARCHITECTURE.md: validate → coalesce → dead letters →
 * lock → transaction → publish → purge → announce → release (the saga, invalidation.saga.ts)
 * → commit → report. Each attempt is retried with back-off (retry.ts), and after
 * POISON_BUDGET data errors the message at fault is searched for (poison.ts). Never skips an
 * event: returns once the batch is committed, or throws with the batch uncommitted (it is
 * fetched again): when it is no longer its own ('abandon'), or when the commit failed.
 */
@Injectable()
export class ConsumeBatch implements OnModuleInit, OnModuleDestroy {
  /**
   * Batches checked as they were queued (prepare), until their saga takes them; undefined when
   * the check thread failed (apply checks again on the main thread).
   */
  private readonly checked = new WeakMap<IncomingBatch, Check>();
  private readonly thread: CheckThread;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly saga: InvalidationSaga,
    @Inject(DEAD_LETTER_SINK) private readonly deadLetters: DeadLetterSink,
    private readonly telemetry: SagaTelemetry,
  ) {
    this.thread = new CheckThread(config);
  }

  /** The check thread started before the consumer (a drain's first batch waits for no boot). */
  async onModuleInit(): Promise<void> {
    if (this.config.CHECK_THREAD_MIN_MESSAGES > 0)
      await this.thread
        .warm()
        .catch((error: unknown) => this.telemetry.checkThreadFailed(error, 0));
  }

  async onModuleDestroy(): Promise<void> {
    await this.thread.close();
  }

  /** The batch and its commit, one after the other (manual use, tests). */
  async execute(batch: IncomingBatch): Promise<void> {
    const commit = await this.apply(batch);
    await commit();
  }

  /**
   * Checks a batch's messages as it is queued behind the running saga (BatchCoalescer's
   * prepare), so that its saga starts with them checked: in a drain, the check of the next
   * saga's events runs while this one waits on MySQL. A batch of CHECK_THREAD_MIN_MESSAGES
   * or more is checked on the check thread (check-thread.ts), on the other core. A message
   * whose check throws (a bug, not a letter), or a thread that failed, leaves the batch for
   * apply, which checks it on this thread and fails the batch as before.
   */
  prepare(batch: IncomingBatch): void {
    this.checked.set(batch, this.startCheck(batch));
  }

  /** A batch's check, on the check thread when it is big enough; undefined when it threw. */
  private startCheck(batch: IncomingBatch): Check {
    const min = this.config.CHECK_THREAD_MIN_MESSAGES;
    if (min > 0 && batch.messages.length >= min) {
      return this.thread.check(batch.messages).catch((error: unknown) => {
        this.telemetry.checkThreadFailed(error, batch.messages.length);
        return undefined;
      });
    }
    try {
      return check(batch.messages, this.config);
    } catch {
      return undefined;
    }
  }

  /** A batch's check: as prepared, or now; on the main thread when that failed (it throws again). */
  private async checkedOf(batch: IncomingBatch): Promise<CheckedMessages> {
    const started = this.checked.has(batch) ? this.checked.get(batch) : this.startCheck(batch);
    const checked = await started;
    this.telemetry.checked(checked && started instanceof Promise ? 'check' : 'main');
    return checked ?? check(batch.messages, this.config);
  }

  /**
   * Everything before the commit; resolves with the commit (and the report), which the
   * coalescer calls at once, in saga order, while the next saga is applied (the transport
   * sends the commits asked for meanwhile together: OffsetCommits).
   */
  async apply(batch: IncomingBatch): Promise<() => Promise<void>> {
    const started = performance.now();
    const waits = batchWaits(batch, Date.now());
    let lease: BatchLease | undefined;
    try {
      const parts = await Promise.all((batch.parts ?? [batch]).map((p) => this.checkedOf(p)));
      const { valid, invalid, copies, skipped, plan } = dedupe(parts);
      this.telemetry.validated(valid, copies, skipped);
      const run: BatchRun = {
        events: valid,
        deadLettered: [...invalid],
        appliedAlone: new Set(),
        plan,
      };
      // Heartbeats on a timer for the whole saga: no step, wait or back-off outlives the session.
      const held = new BatchLease(
        batch,
        () => run.events.map((e) => e.eventId),
        heartbeatIntervalMs(this.config.KAFKA_SESSION_TIMEOUT_MS),
        (error) => this.telemetry.heartbeatFailed(error, run.events.length),
      );
      lease = held;
      const report = await this.applyWithRetries(run, invalid, held);
      return () => this.commit(batch, held, { report, run, copies, started, waits });
    } catch (error) {
      this.telemetry.batchFailed(error, batch.messages);
      lease?.end();
      throw error;
    }
  }

  /** The offsets, once the saga released its locks; then the report. */
  private async commit(
    batch: IncomingBatch,
    lease: BatchLease,
    done: {
      report: SagaReport;
      run: BatchRun;
      copies: ValidEvent[];
      started: number;
      waits: ReturnType<typeof batchWaits>;
    },
  ): Promise<void> {
    const { report, run, copies, started, waits } = done;
    try {
      lease.check();
      report.stages.restart();
      await batch.commit().catch((error: unknown) => {
        throw new OffsetCommitError(error);
      });
      report.stages.lap('commit');
      if (waits) {
        report.stages.record('fetch', waits.fetch);
        report.stages.record('queue', waits.queue);
      }
      for (const id of run.appliedAlone) report.appliedEventIds.add(id);
      this.telemetry.completed(report, run, copies, started);
    } catch (error) {
      this.telemetry.batchFailed(error, batch.messages);
      throw error;
    } finally {
      lease.end();
    }
  }

  /** The attempts: coalesce, dead letters out, the saga; a message at fault searched for. */
  private applyWithRetries(run: BatchRun, invalid: DeadLetter[], lease: BatchLease) {
    let unsent = invalid;
    let messageFaults = 0;
    // Set when MySQL refused even a trial under fresh ids: each retry asks the store first.
    let storeRefused = false;
    let work: SagaWork;
    return withRetries(
      this.config,
      async () => {
        work = coalesce(run.events, run.plan);
        lease.check();
        if (storeRefused) {
          await this.saga.trial(work);
          storeRefused = false;
        }
        if (messageFaults >= POISON_BUDGET) {
          try {
            // The poison letters go out as they are found, each before any later event applies.
            const { saga, deadLetters, telemetry } = this;
            await isolatePoison(run, lease, { saga, deadLetters, telemetry });
            messageFaults = 0;
          } finally {
            // The search took events out: their plan is merged again from those left.
            run.plan = undefined;
            work = coalesce(run.events);
          }
        }
        // Dead letters go out before the commit, so a crash can only repeat them, never lose them.
        await this.deadLetters.publish(unsent);
        unsent = [];
        // lock → transaction → publish → purge → announce → release, through the breaker.
        return this.saga.apply(work, lease);
      },
      {
        giveUp: (error) => dispositionOf(error) === 'abandon',
        onRetry: (error, attempt, startedMs) => {
          // 'retry' and 'lost-race' back off ('fallback' never gets here: the saga takes it).
          if (dispositionOf(error) === 'dead-letter') messageFaults++;
          if (error instanceof StoreRefusedError) {
            storeRefused = true;
            messageFaults = 0;
          }
          this.telemetry.attemptFailed(error, startedMs);
          this.telemetry.retrying(error, attempt, work);
        },
        check: () => lease.check(),
      },
    );
  }
}
