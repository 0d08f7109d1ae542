import { AppConfig } from '@invalidator/config';
import { backoffDelay, sleep } from '@invalidator/locking';

/** `giveUp`: the error is thrown; `onRetry` before each back-off; `check` throws to stop it. */
export interface RetryPolicy {
  giveUp(error: unknown, attempts: number): boolean;
  onRetry(error: unknown, attempt: number, startedMs: number): void;
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
