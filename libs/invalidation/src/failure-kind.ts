/**
 * Whether a failed attempt is the message's own fault or the world's. Only MySQL's data
 * errors (a value the schema or a trigger refuses) can be the message's fault; everything
 * else (connections, deadlocks, lock waits, Redis, the broker) is transient and retried.
 */
const MESSAGE_FAULT_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
  1644, // ER_SIGNAL_EXCEPTION (a trigger refused the row)
]);

export type FailureKind = 'transient' | 'message';

export function failureKind(error: unknown): FailureKind {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' && MESSAGE_FAULT_ERRNOS.has(errno) ? 'message' : 'transient';
}

export function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'Error';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}
