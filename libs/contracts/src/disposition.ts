/**
 * What the saga does about an error, declared by the error's own type (never read from its
 * message): every error the saga throws on purpose carries one.
 * - `dead-letter`: the input's own fault — a message goes to the dead-letter topic, a manual
 *   request is refused; retrying cannot help.
 * - `fallback`: the Redis lock could not be had — run the MySQL row-lock fallback.
 * - `lost-race`: another holder or transaction got there first — roll back and retry; it says
 *   nothing about the stores' health.
 * - `abandon`: the batch is no longer this consumer's — stop, commit nothing.
 * - `retry`: the world's fault (a store away, a timeout) — back off and retry. Errors of the
 *   drivers (mysql2, ioredis, kafkajs), which carry no disposition, are this.
 */
export type Disposition = 'dead-letter' | 'fallback' | 'lost-race' | 'abandon' | 'retry';

const DISPOSITIONS: readonly string[] = [
  'dead-letter',
  'fallback',
  'lost-race',
  'abandon',
  'retry',
];

export function dispositionOf(error: unknown): Disposition {
  const disposition = (error as { disposition?: unknown } | null)?.disposition;
  return typeof disposition === 'string' && DISPOSITIONS.includes(disposition)
    ? (disposition as Disposition)
    : 'retry';
}

/** Whether an error says something about the stores' health: what the circuit breaker counts. */
export function isStoreFailure(error: unknown): boolean {
  return dispositionOf(error) === 'retry';
}
