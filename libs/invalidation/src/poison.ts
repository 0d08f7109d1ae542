import { dispositionOf } from '@invalidator/contracts';
import { BatchLease } from './batch-lease';
import { DeadLetter, DeadLetterSink } from './dead-letters';
import { IncomingMessage } from './incoming-batch';
import { InvalidationSaga } from './invalidation.saga';
import { SagaTelemetry } from './saga-telemetry';
import { BatchRun, ValidEvent, coalesce } from './saga-work';

/** Attempts failing with a data error before the batch is searched for the message at fault. */
export const POISON_BUDGET = 3;
const ISOLATION_ATTEMPTS = 2;

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
 * Moves what it applied to `run.appliedAlone` and its letters from `run.events` to
 * `run.deadLettered`, even when a transient error ends it.
 */
export async function isolatePoison(
  run: BatchRun,
  lease: BatchLease,
  deps: { saga: InvalidationSaga; deadLetters: DeadLetterSink; telemetry: SagaTelemetry },
): Promise<void> {
  const { saga, deadLetters, telemetry } = deps;
  const poison = new Set<IncomingMessage>();
  const tryApply = async (part: ValidEvent[]): Promise<unknown> => {
    lease.check();
    try {
      const report = await saga.apply(coalesce(part), lease);
      for (const id of report.appliedEventIds) run.appliedAlone.add(id);
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
    await saga.trial(coalesce(part));
    const [event] = part;
    const reason = `poison: ${(error as Error).message} (failed ${POISON_BUDGET + attempts} attempts)`;
    const letter: DeadLetter = { message: event.message, kind: 'poison', reason };
    await deadLetters.publish([letter]);
    poison.add(event.message);
    run.deadLettered.push(letter);
    telemetry.poison(event, error);
  };
  try {
    await bisect(run.events, true);
  } finally {
    run.events = run.events.filter((e) => !poison.has(e.message));
  }
}
