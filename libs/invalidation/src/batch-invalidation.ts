import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { dispositionOf } from '@invalidator/contracts';
import { backoffDelay, sleep } from '@invalidator/locking';
import { BatchLease } from './batch-lease';
import { StoreRefusedError } from './saga-errors';
import { DEAD_LETTER_SINK, DeadLetter, DeadLetterSink } from './dead-letters';
import { IncomingBatch, heartbeatIntervalMs } from './incoming-batch';
import { InvalidationSaga } from './invalidation.saga';
import { SagaTelemetry } from './saga-telemetry';
import { SagaReport, SagaWork, ValidEvent, coalesce, validate } from './saga-work';

/** Attempts failing with a data error before the batch is searched for the message at fault. */
const POISON_BUDGET = 3;
const ISOLATION_ATTEMPTS = 2;

/**
 * A consumer batch to its commit: validate, coalesce, dead letters out, the saga (retried with
 * back-off, a message at fault isolated), then the offsets, then the telemetry. Never skips an
 * event: it returns only once the batch is committed, or throws when it is no longer its own.
 */
@Injectable()
export class BatchInvalidation {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly saga: InvalidationSaga,
    @Inject(DEAD_LETTER_SINK) private readonly deadLetters: DeadLetterSink,
    private readonly telemetry: SagaTelemetry,
  ) {}

  async handle(batch: IncomingBatch): Promise<void> {
    const started = performance.now();
    const { valid, invalid, copies } = validate(batch.messages);
    let events = valid;
    let unsent = invalid;
    const deadLettered: DeadLetter[] = [...invalid];
    const appliedAlone = new Set<string>();
    let messageFaults = 0;
    // Set when MySQL refused even a trial under fresh ids: each retry asks the store first.
    let storeRefused = false;
    let report: SagaReport | undefined;
    // Heartbeats run on a timer for the whole saga: no step, wait or back-off outlives the session.
    const lease = new BatchLease(
      batch,
      () => events.map((e) => e.event.eventId),
      heartbeatIntervalMs(this.config.KAFKA_SESSION_TIMEOUT_MS),
      (error) => this.telemetry.heartbeatFailed(error, events.length),
    );
    try {
      for (let attempt = 0; report === undefined; attempt++) {
        let work = coalesce(events);
        const attemptStarted = performance.now();
        try {
          lease.check();
          if (storeRefused) {
            await this.saga.trial(work);
            storeRefused = false;
          }
          if (messageFaults >= POISON_BUDGET) {
            // The poison letters are out already (isolatePoison sends each as it finds it).
            const poison: DeadLetter[] = [];
            try {
              await this.isolatePoison(events, appliedAlone, poison, lease);
              messageFaults = 0;
            } finally {
              const isPoison = new Set(poison.map((p) => p.message));
              events = events.filter((e) => !isPoison.has(e.message));
              work = coalesce(events);
              deadLettered.push(...poison);
            }
          }
          // Dead letters go out before the commit, so a crash can only repeat them, never lose them.
          await this.deadLetters.publish(unsent);
          unsent = [];
          report = await this.saga.apply(work, lease);
        } catch (error) {
          switch (dispositionOf(error)) {
            case 'abandon':
              throw error;
            case 'dead-letter':
              messageFaults++;
              break;
            default:
            // 'retry' and 'lost-race' ('fallback' never gets here: the saga takes it): back off.
          }
          if (error instanceof StoreRefusedError) {
            storeRefused = true;
            messageFaults = 0;
          }
          this.telemetry.attemptFailed(error, attemptStarted);
          await this.backOff(error, attempt, work, lease);
        }
      }
      lease.check();
      await batch.commit();
    } finally {
      lease.end();
    }
    appliedAlone.forEach((id) => report.appliedEventIds.add(id));
    this.telemetry.completed(report, events, deadLettered, started, copies);
  }

  /**
   * A batch keeps failing with a data error: find the events at fault by bisection (halves
   * applied in order, a failing half split again), so a batch of thousands costs a few dozen
   * sagas. Only those events go to the dead-letter topic; a transient error stops the search.
   * Each is dead-lettered the moment it is found, before any later event is applied: once a
   * later offset of its partition is applied, a redelivery would skip it (the offset ledger).
   * And only once the store has taken the same write under fresh event ids (the saga's trial):
   * a store that refuses every write (a trigger freezing writes) would make every event fail
   * alone, and dead-lettering them all would move the ledger past events nothing was wrong
   * with. The trial's StoreRefusedError ends the search instead, and the batch is retried.
   */
  private async isolatePoison(
    events: ValidEvent[],
    applied: Set<string>,
    poison: DeadLetter[],
    lease: BatchLease,
  ): Promise<void> {
    const tryApply = async (part: ValidEvent[]): Promise<unknown> => {
      lease.check();
      try {
        const report = await this.saga.apply(coalesce(part), lease);
        report.appliedEventIds.forEach((id) => applied.add(id));
        return undefined;
      } catch (error) {
        if (dispositionOf(error) !== 'dead-letter') throw error;
        return error;
      }
    };
    // `failed`: the part is known to fail as a whole (the batch itself), so split it at once.
    const bisect = async (part: ValidEvent[], failed: boolean): Promise<void> => {
      let attempts = 0;
      let error: unknown;
      if (!failed || part.length === 1) {
        error = await tryApply(part);
        attempts++;
        if (error === undefined) return;
      }
      if (part.length > 1) {
        const middle = Math.ceil(part.length / 2);
        await bisect(part.slice(0, middle), false);
        await bisect(part.slice(middle), false);
        return;
      }
      while (error !== undefined && attempts < ISOLATION_ATTEMPTS) {
        error = await tryApply(part);
        attempts++;
      }
      if (error === undefined) return;
      await this.saga.trial(coalesce(part));
      const [event] = part;
      const reason = `poison: ${(error as Error).message} (failed ${POISON_BUDGET + attempts} attempts)`;
      const letter: DeadLetter = { message: event.message, kind: 'poison', reason };
      await this.deadLetters.publish([letter]);
      poison.push(letter);
      this.telemetry.poison(event, error);
    };
    await bisect(events, true);
  }

  /** Waits out the back-off in slices, so a batch revoked meanwhile is given up at once. */
  private async backOff(error: unknown, attempt: number, work: SagaWork, lease: BatchLease) {
    this.telemetry.retrying(error, attempt, work);
    lease.check();
    let remaining = backoffDelay(
      attempt,
      this.config.SAGA_RETRY_DELAY_MS,
      this.config.RETRY_MAX_DELAY_MS,
    );
    while (remaining > 0) {
      const slice = Math.min(remaining, 1000);
      await sleep(slice);
      remaining -= slice;
      lease.check();
    }
  }
}
