import { AppConfig } from '@invalidator/config';
import { backoffDelay, sleep } from '@invalidator/locking';

export interface RetryPolicy {
  /** True when the error ends the retries: it is thrown. */
  giveUp(error: unknown, attempts: number): boolean;
  /** Before each back-off: the error of the attempt that started at `startedMs`. */
  onRetry(error: unknown, attempt: number, startedMs: number): void;
  /** Before the back-off and between its slices: throws to stop waiting (a batch revoked). */
  check(error: unknown): void;
}

/**
 * Runs `attempt` until it succeeds or the policy gives up, backing off (SAGA_RETRY_DELAY_MS,
 * doubling to RETRY_MAX_DELAY_MS) in slices of a second, so a stop is heard at once. The
 * consumer's batches and manual bumps retry through it.
 */
export async function withRetries<T>(
  config: AppConfig,
  attempt: () => Promise<T>,
  policy: RetryPolicy,
): Promise<T> {
  for (let n = 0; ; n++) {
    const startedMs = performance.now();
    try {
      return await attempt();
    } catch (error) {
      if (policy.giveUp(error, n + 1)) throw error;
      policy.onRetry(error, n, startedMs);
      policy.check(error);
      let remaining = backoffDelay(n, config.SAGA_RETRY_DELAY_MS, config.RETRY_MAX_DELAY_MS);
      while (remaining > 0) {
        const slice = Math.min(remaining, 1000);
        await sleep(slice);
        remaining -= slice;
        policy.check(error);
      }
    }
  }
}
