import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { CacheUpdate } from '@invalidator/cache';
import { dispositionOf } from '@invalidator/contracts';
import { HeldLock, LockService } from '@invalidator/locking';
import { CircuitBreakerService } from '@invalidator/monitoring';
import { VersionRepository, globalVersionString } from '@invalidator/versioning';
import { BatchLease } from './batch-lease';
import { StoreRefusedError } from './saga-errors';
import { SagaTelemetry } from './saga-telemetry';
import { AppliedIds, SagaReport, SagaWork } from './saga-work';

/**
 * One attempt of the invalidation saga: lock (or the row-lock fallback), transaction, publish
 * versions, purge, announce, release — the middle of ConsumeBatch's order (consume-batch.ts),
 * shared with manual bumps.
 */
@Injectable()
export class InvalidationSaga {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly locks: LockService,
    private readonly versions: VersionRepository,
    private readonly cache: CacheUpdate,
    private readonly breaker: CircuitBreakerService,
    private readonly telemetry: SagaTelemetry,
  ) {}

  /** Applies the work once; the breaker counts every attempt and, while open, refuses at once. */
  async apply(work: SagaWork, lease?: BatchLease): Promise<SagaReport> {
    if (work.events.length === 0) {
      return {
        path: 'lock',
        dataTypes: [],
        appliedEventIds: new AppliedIds(),
        invalidatedKeys: 0,
        versions: [],
        lockWaitMs: 0,
        stages: this.telemetry.stageClock(),
      };
    }
    return this.breaker.fire(() => this.lockBumpPublishPurge(work, lease));
  }

  /**
   * Asks MySQL whether it takes this work's writes from anyone: the same version transaction
   * under fresh event ids, rolled back before its commit, through the breaker. A data error
   * then is no event's fault but the store's: StoreRefusedError (retried, counted by the
   * breaker). Returns when the store took every write, so the refusal was the events' own.
   */
  async trial(work: SagaWork): Promise<void> {
    if (work.events.length === 0) return;
    await this.breaker.fire(async () => {
      const eventIds = work.events.map((e) => e.eventId);
      try {
        await this.versions.bumpVersions({
          events: work.events.map((e) => ({ ...e, eventId: randomUUID() })),
          actor: work.actor,
          lockWaitTimeoutMs: this.config.VERSION_LOCK_TIMEOUT_MS,
          sessionIdleTimeoutS: this.config.MYSQL_WAIT_TIMEOUT_S,
          beforeCommit: () => Promise.reject(new TrialRolledBack()),
        });
      } catch (error) {
        if (error instanceof TrialRolledBack) return;
        if (dispositionOf(error) === 'dead-letter' && error instanceof Error)
          throw new StoreRefusedError(error, eventIds);
        throw error;
      }
      throw new Error('a trial transaction was committed');
    });
  }

  /** The steps, under the Redis locks or, when they cannot be had, MySQL's row locks alone. */
  private async lockBumpPublishPurge(work: SagaWork, lease?: BatchLease): Promise<SagaReport> {
    const clock = this.telemetry.stageClock();
    const lock = await this.lockOrFallback(work);
    clock.lap('lock');
    const lockWaitMs = clock.ms.lock ?? 0;
    try {
      lease?.check();
      // The fencing token is the transaction's own first statement (lock path and fallback).
      const result = await this.versions.bumpVersions({
        events: work.events,
        actor: work.actor,
        lockWaitTimeoutMs: this.config.VERSION_LOCK_TIMEOUT_MS,
        sessionIdleTimeoutS: this.config.MYSQL_WAIT_TIMEOUT_S,
        beforeCommit: async () => {
          // A batch revoked meanwhile is its new owner's to apply: roll back, commit nothing.
          lease?.check();
          await lock?.ensureValid(this.config.LOCK_TTL_MS / 5);
        },
      });
      clock.lap('transaction');
      this.telemetry.offsetRegressed(result.offsetRegressions);
      // Versions go out before the purge: the web tier keys on them, so every older entry is
      // unreachable from there on even if the purge fails and is retried. Announced only after
      // the purge: a web server that hears it may trust that older fills are gone.
      const global = globalVersionString(result.current);
      const purged = await this.cache.apply(result.current, global, work.tags, (step) =>
        clock.lap(step),
      );
      this.telemetry.versionsPublished(result.current);
      return {
        path: lock ? 'lock' : 'fallback',
        dataTypes: work.dataTypes,
        appliedEventIds: new AppliedIds(result.appliedEventIds),
        invalidatedKeys: purged.keys,
        versions: result.current,
        lockWaitMs,
        stages: clock,
      };
    } finally {
      await lock?.release();
      clock.lap('release');
    }
  }

  private async lockOrFallback(work: SagaWork): Promise<HeldLock | undefined> {
    const end = this.telemetry.lockAttempt();
    try {
      const lock = await this.locks.acquire(work.dataTypes);
      end('acquired');
      return lock;
    } catch (error) {
      const fallback = dispositionOf(error) === 'fallback';
      end(fallback ? 'unavailable' : 'error');
      if (!fallback) throw error;
      this.telemetry.fallback(work);
      return undefined;
    }
  }
}

/** Ends a trial transaction just before its commit: everything was taken, nothing is kept. */
class TrialRolledBack extends Error {
  constructor() {
    super('trial transaction rolled back');
    this.name = 'TrialRolledBack';
  }
}
