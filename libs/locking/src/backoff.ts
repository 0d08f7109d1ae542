/**
 * Exponential back-off with jitter: attempt 0 waits about `base`, attempt 1 about `2 * base`,
 * and so on; the jitter spreads each wait over [0.75, 1.25) of its nominal value so that
 * instances that collided once do not collide again.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(nominal * (0.75 + random() * 0.5));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
