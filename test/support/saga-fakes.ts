/**
 * Fakes for the saga's unit specs: no Kafka, MySQL or Redis. Every store call is written to one
 * shared journal, so a spec can state the order of the steps.
 */
import { CacheStep, CacheUpdate } from '@invalidator/cache';
import { AppConfig, parseConfig } from '@invalidator/config';
import { HeldLock, LockService, LockUnavailableError } from '@invalidator/locking';
import { CircuitBreakerService } from '@invalidator/monitoring';
import { BumpRequest, BumpResult, VersionRepository, VersionState } from '@invalidator/versioning';
// Unit specs reach inside the lib on purpose: they test its rooms, not only its door.
import { DeadLetter, DeadLetterSink } from '../../libs/invalidation/src/dead-letters';
import { IncomingBatch, IncomingMessage } from '../../libs/invalidation/src/incoming-batch';
import { InvalidationSaga } from '../../libs/invalidation/src/invalidation.saga';
import { SagaTelemetry } from '../../libs/invalidation/src/saga-telemetry';
import { StageClock } from '../../libs/invalidation/src/stage-clock';
import { BatchRun, SagaReport } from '../../libs/invalidation/src/saga-work';

/** One saga's journal under the Redis lock: every step, in order. */
export const SAGA_STEPS = ['lock', 'commit-tx', 'publish', 'purge', 'announce', 'release'];

export const fakeConfig = (env: Record<string, string> = {}): AppConfig =>
  parseConfig({ SAGA_RETRY_DELAY_MS: '1', RETRY_MAX_DELAY_MS: '10', ...env });

const state = (dataType: string, version: number): VersionState => ({
  dataType,
  version: BigInt(version),
  hash: `${dataType}-${version}`,
  updatedAt: new Date(0),
});

export class FakeStores {
  readonly journal: string[] = [];
  /** Set to make the Redis lock unavailable: the saga must take the row-lock fallback. */
  lockUnavailable = false;
  /** Decides, per bump request, whether the transaction fails (and with what). */
  failBump: (request: BumpRequest) => unknown = () => undefined;
  failPurge: () => unknown = () => undefined;
  failDeadLetters: () => unknown = () => undefined;
  failCommit: () => unknown = () => undefined;
  readonly bumps: BumpRequest[] = [];
  /** The events applied: what the offset ledger and processed_events hold. */
  private readonly applied = new Set<string>();
  private readonly versions = new Map<string, number>();
  /** The audit of applied events: what each bumped. */
  readonly audit = new Map<string, VersionState[]>();
  readonly letters: DeadLetter[] = [];

  readonly locks = {
    acquire: async (dataTypes: string[]): Promise<HeldLock> => {
      this.journal.push('lock');
      if (this.lockUnavailable) throw new LockUnavailableError(dataTypes, 3);
      return {
        dataTypes,
        ensureValid: async () => undefined,
        release: async () => {
          this.journal.push('release');
          return 'released';
        },
      };
    },
  } as unknown as LockService;

  readonly repository = {
    bumpVersions: async (request: BumpRequest): Promise<BumpResult> => {
      this.bumps.push(request);
      const failure = this.failBump(request);
      if (failure !== undefined) {
        this.journal.push('rollback');
        throw failure;
      }
      const applied = request.events.filter((e) => !this.applied.has(e.eventId));
      // Throwing here rolls the transaction back: nothing below is kept.
      await request.beforeCommit?.().catch((error: unknown) => {
        this.journal.push('rollback');
        throw error;
      });
      const types = new Set<string>();
      applied.forEach((e) => e.dataTypes.forEach((t) => types.add(t)));
      const bumped = [...types].sort().map((t) => {
        const next = (this.versions.get(t) ?? 0) + 1;
        this.versions.set(t, next);
        return state(t, next);
      });
      for (const e of applied) {
        this.applied.add(e.eventId);
        this.audit.set(
          e.eventId,
          bumped.filter((b) => e.dataTypes.includes(b.dataType)),
        );
      }
      this.journal.push('commit-tx');
      return {
        current: [...this.versions].map(([t, v]) => state(t, v)),
        appliedEventIds: applied.map((e) => e.eventId),
        fenceToken: request.fenceToken ?? 7n,
        offsetRegressions: [],
      };
    },
    auditedOutcome: async (eventId: string) => this.audit.get(eventId) ?? [],
  } as unknown as VersionRepository;

  /** The Redis steps in their order; the purge fails as `failPurge` says. */
  readonly cache = {
    apply: async (
      _versions: unknown,
      _global: string,
      tags: string[],
      done: (step: CacheStep) => void,
    ) => {
      this.journal.push('publish');
      done('publish');
      const failure = this.failPurge();
      if (failure !== undefined) throw failure;
      this.journal.push('purge');
      done('purge');
      this.journal.push('announce');
      done('announce');
      return { tags: tags.length, keys: tags.length };
    },
  } as unknown as CacheUpdate;

  readonly deadLetters: DeadLetterSink = {
    publish: async (letters) => {
      const failure = letters.length > 0 ? this.failDeadLetters() : undefined;
      if (failure !== undefined) throw failure;
      if (letters.length > 0) this.journal.push(`dead-letter ${letters.length}`);
      this.letters.push(...letters);
    },
  };

  /** Every error a task threw through the breaker: what it counts. */
  readonly breakerErrors: unknown[] = [];
  /** Passes every task through, as a closed breaker does. */
  readonly breaker = {
    fire: (task: () => Promise<unknown>) =>
      task().catch((error: unknown) => {
        this.breakerErrors.push(error);
        throw error;
      }),
  } as unknown as CircuitBreakerService;

  readonly telemetry = {
    stageClock: () => new StageClock(() => undefined),
    lockAttempt: () => () => undefined,
    fallback: () => undefined,
    versionsPublished: () => undefined,
    offsetRegressed: () => undefined,
    attemptFailed: () => undefined,
    retrying: () => undefined,
    manualBumpRetrying: () => undefined,
    poison: () => undefined,
    validated: () => undefined,
    checked: (thread: string) => void this.checks.push(thread),
    checkThreadFailed: (error: unknown) => void this.failures.push(error),
    heartbeatFailed: () => undefined,
    batchFailed: (error: unknown) => void this.failures.push(error),
    completed: (report: SagaReport, run: BatchRun) =>
      void this.reports.push({
        after: [...this.journal],
        applied: report.appliedEventIds.size,
        events: run.events.length,
        deadLettered: run.deadLettered.map((l) => l.kind),
      }),
  } as unknown as SagaTelemetry;

  /** What the use case reported of each committed batch, and the journal as it stood then. */
  readonly reports: { after: string[]; applied: number; events: number; deadLettered: string[] }[] =
    [];
  /** The thread each batch was checked on (SagaTelemetry.checked). */
  readonly checks: string[] = [];
  /** The errors of the batches it left uncommitted. */
  readonly failures: unknown[] = [];

  saga(config = fakeConfig()): InvalidationSaga {
    return new InvalidationSaga(
      config,
      this.locks,
      this.repository,
      this.cache,
      this.breaker,
      this.telemetry,
    );
  }

  /** A batch whose commit is journaled; `active` false means it was taken away. */
  batch(values: unknown[], topic = 'shop.product-updated'): IncomingBatch & { active: boolean } {
    const messages: IncomingMessage[] = values.map((value, i) => ({
      topic,
      partition: 0,
      offset: String(i),
      key: null,
      value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
      timestamp: '0',
    }));
    const batch = {
      messages,
      active: true,
      heartbeat: async () => undefined,
      isActive: () => batch.active,
      commit: async () => {
        const failure = this.failCommit();
        if (failure !== undefined) throw failure;
        this.journal.push('commit-offsets');
      },
    };
    return batch;
  }
}

let seq = 0;
/** A valid ProductUpdated event with a fresh event id. */
export function productUpdated(productId = '1') {
  seq++;
  return {
    eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    type: 'ProductUpdated',
    action: 'updated',
    productId,
    categoryIds: [],
    occurredAt: '2026-11-23T10:00:00.000Z',
  };
}

/**
 * The offset ledger as the saga keeps it (one `next_offset` per partition): an event below it
 * counts as a duplicate and is skipped. `applied` lists what was applied, `partition@offset`.
 */
export class FakeOffsetLedger {
  readonly applied: string[] = [];
  readonly skipped: string[] = [];
  private readonly next = new Map<string, bigint>();

  apply(batch: IncomingBatch): void {
    for (const m of batch.messages) {
      const key = `${m.topic}/${m.partition}`;
      const at = `${m.partition}@${m.offset}`;
      if (BigInt(m.offset) < (this.next.get(key) ?? 0n)) this.skipped.push(at);
      else {
        this.applied.push(at);
        this.next.set(key, BigInt(m.offset) + 1n);
      }
    }
  }
}
