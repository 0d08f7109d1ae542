import { Inject, Injectable } from '@nestjs/common';
import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { REDIS_CLIENT } from '@invalidator/redis';
import { backoffDelay, sleep } from './backoff';
import { LockLostError, LockUnavailableError } from './errors';
import { FenceTokenRepository } from './fence-token.repository';

export const lockKey = (dataType: string) => `lock:shop.version.${dataType}`;

export type ReleaseOutcome = 'released' | 'expired';

export interface FencedLock {
  readonly dataTypes: string[];
  readonly fenceToken: bigint;
  /** Extends the lock when less than `minRemainingMs` is left; throws LockLostError if it cannot. */
  ensureValid(minRemainingMs: number): Promise<void>;
  release(): Promise<ReleaseOutcome>;
}

@Injectable()
export class LockService {
  private readonly redlock: Redlock;

  constructor(
    @Inject(REDIS_CLIENT) redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly fences: FenceTokenRepository,
  ) {
    // Our own retry loop (exponential, jittered) replaces redlock's fixed-delay retries.
    this.redlock = new Redlock([redis], { retryCount: 0, driftFactor: 0.01 });
    // Redlock emits every failed vote as 'error'; an EventEmitter with no listener would throw.
    this.redlock.on('error', () => undefined);
  }

  /**
   * Takes the locks of all data types at once (sorted, so two instances never wait on each
   * other in opposite orders) and a fencing token from the durable sequence.
   */
  async acquireFenced(dataTypes: string[]): Promise<FencedLock> {
    const sorted = [...new Set(dataTypes)].sort();
    const lock = await this.acquireWithRetries(sorted);
    let fenceToken: bigint;
    try {
      fenceToken = await this.fences.next();
    } catch (error) {
      await this.releaseQuietly(lock);
      throw error;
    }
    return this.wrap(sorted, lock, fenceToken);
  }

  /** A token for the fallback path, which serializes on MySQL row locks instead of Redis. */
  nextFenceToken(): Promise<bigint> {
    return this.fences.next();
  }

  private async acquireWithRetries(dataTypes: string[]): Promise<Lock> {
    const resources = dataTypes.map(lockKey);
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

  private wrap(dataTypes: string[], initial: Lock, fenceToken: bigint): FencedLock {
    let lock = initial;
    const ttl = this.config.LOCK_TTL_MS;
    return {
      dataTypes,
      fenceToken,
      ensureValid: async (minRemainingMs: number) => {
        if (lock.expiration - Date.now() >= minRemainingMs) return;
        try {
          lock = await lock.extend(ttl);
        } catch {
          throw new LockLostError(dataTypes);
        }
        if (lock.expiration - Date.now() < minRemainingMs) throw new LockLostError(dataTypes);
      },
      release: async () => {
        if (lock.expiration <= Date.now()) {
          await this.releaseQuietly(lock);
          return 'expired';
        }
        try {
          await this.redlock.release(lock, { retryCount: 0 });
          return 'released';
        } catch {
          return 'expired';
        }
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
