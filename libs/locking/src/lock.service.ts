import { Inject, Injectable } from '@nestjs/common';
import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import { versionKey } from '@invalidator/client';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { REDIS_CLIENT, RedisClient, isCluster } from '@invalidator/redis';
import { backoffDelay, sleep } from './backoff';
import { LockLostError, LockUnavailableError } from './errors';
import { FenceTokenRepository } from './fence-token.repository';

/** A lock's key derives from the version key it guards (libs/client's contract). */
export const lockKey = (dataType: string) => `lock:${versionKey(dataType)}`;

export type ReleaseOutcome = 'released' | 'expired';

/**
 * The Redis locks of a saga's data types. Its fencing token comes from the version transaction
 * itself (its first statement, version.repository.ts): every bump locks every version row, so
 * MySQL orders the bumps, and a holder whose lock lapsed is refused at its commit
 * (`ensureValid`, LockLostError).
 */
export interface HeldLock {
  readonly dataTypes: string[];
  /** Extends the lock when less than `minRemainingMs` is left; throws LockLostError if it cannot. */
  ensureValid(minRemainingMs: number): Promise<void>;
  release(): Promise<ReleaseOutcome>;
}

@Injectable()
export class LockService {
  private readonly redlock: Redlock;
  /** On a cluster each lock key is in a slot of its own: one lock per key, taken in order. */
  private readonly perKey: boolean;

  constructor(
    @Inject(REDIS_CLIENT) redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly fences: FenceTokenRepository,
  ) {
    // Our own retry loop (exponential, jittered) replaces redlock's fixed-delay retries.
    this.redlock = new Redlock([redis], { retryCount: 0, driftFactor: 0.01 });
    // Redlock emits every failed vote as 'error'; an EventEmitter with no listener would throw.
    this.redlock.on('error', () => undefined);
    this.perKey = isCluster(redis);
  }

  /**
   * Takes the locks of all data types at once (sorted, so two instances never wait on each
   * other in opposite orders).
   */
  async acquire(dataTypes: string[]): Promise<HeldLock> {
    const sorted = [...new Set(dataTypes)].sort();
    return this.wrap(sorted, await this.acquireWithRetries(sorted));
  }

  /** A token from the durable sequence, outside any transaction (operators' tools, tests). */
  nextFenceToken(): Promise<bigint> {
    return this.fences.next();
  }

  private async acquireWithRetries(dataTypes: string[]): Promise<Lock[]> {
    if (!this.perKey) return [await this.acquireResources(dataTypes, dataTypes.map(lockKey))];
    // Redlock's script sets all resources in one call, which a cluster refuses across slots.
    // Keys are taken one by one in sorted order (no two instances wait on each other), and
    // whatever was taken is given back when a later key cannot be had.
    const locks: Lock[] = [];
    try {
      for (const dataType of dataTypes) {
        locks.push(await this.acquireResources(dataTypes, [lockKey(dataType)]));
      }
      return locks;
    } catch (error) {
      await Promise.all(locks.map((l) => this.releaseQuietly(l)));
      throw error;
    }
  }

  private async acquireResources(dataTypes: string[], resources: string[]): Promise<Lock> {
    const attempts = this.config.LOCK_RETRY_ATTEMPTS + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        await sleep(
          backoffDelay(attempt - 1, this.config.LOCK_RETRY_DELAY_MS, this.config.LOCK_TTL_MS),
        );
      }
      try {
        const lock = await this.redlock.acquire(resources, this.config.LOCK_TTL_MS);
        // Expiry counts from the first request; never hand out a lock that is already gone.
        if (lock.expiration > Date.now()) return lock;
        await this.releaseQuietly(lock);
      } catch (error) {
        if (!(error instanceof ExecutionError)) throw error;
        // A quorum error with no vote at all means Redis did not answer: not contention.
        if (await this.noVotes(error)) throw error;
      }
    }
    throw new LockUnavailableError(dataTypes, attempts);
  }

  private async noVotes(error: ExecutionError): Promise<boolean> {
    const stats = await Promise.all(error.attempts);
    return stats.every(
      (s) => s.votesFor.size === 0 && [...s.votesAgainst.values()].some(isConnectionError),
    );
  }

  private wrap(dataTypes: string[], initial: Lock[]): HeldLock {
    let locks = initial;
    const ttl = this.config.LOCK_TTL_MS;
    const expiration = () => Math.min(...locks.map((l) => l.expiration));
    return {
      dataTypes,
      ensureValid: async (minRemainingMs: number) => {
        if (expiration() - Date.now() >= minRemainingMs) return;
        try {
          locks = await Promise.all(locks.map((l) => l.extend(ttl)));
        } catch {
          throw new LockLostError(dataTypes);
        }
        if (expiration() - Date.now() < minRemainingMs) throw new LockLostError(dataTypes);
      },
      release: async () => {
        if (expiration() <= Date.now()) {
          await Promise.all(locks.map((l) => this.releaseQuietly(l)));
          return 'expired';
        }
        const outcomes = await Promise.all(
          locks.map((l) =>
            this.redlock.release(l, { retryCount: 0 }).then(
              () => 'released' as const,
              () => 'expired' as const,
            ),
          ),
        );
        return outcomes.every((o) => o === 'released') ? 'released' : 'expired';
      },
    };
  }

  private async releaseQuietly(lock: Lock): Promise<void> {
    await this.redlock.release(lock, { retryCount: 0 }).catch(() => undefined);
  }
}

function isConnectionError(error: Error): boolean {
  return !(error instanceof ResourceLockedError);
}
