/** The version row was written by a newer lock holder: roll back, take a new lock, retry. */
export class StaleFenceError extends Error {
  readonly disposition = 'lost-race' as const;
  constructor(
    readonly dataType: string,
    readonly fenceToken: string,
  ) {
    super(`fence token ${fenceToken} is stale for data type ${dataType}`);
    this.name = 'StaleFenceError';
  }
}

/** Another transaction inserted some of these manual bumps' idempotency keys first: retry. */
export class IdempotencyKeyRaceError extends Error {
  readonly disposition = 'lost-race' as const;
  constructor(readonly eventIds: string[]) {
    super(`idempotency key race on ${eventIds.length} key(s)`);
    this.name = 'IdempotencyKeyRaceError';
  }
}

/**
 * MySQL's data errors: a value the schema or a trigger refuses. Only these can be a message's
 * own fault; every other MySQL error (connections, deadlocks, lock waits) is the world's.
 */
const REJECTED_ROW_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
  1644, // ER_SIGNAL_EXCEPTION (a trigger refused the row)
]);

/** MySQL refused a row the saga wrote: the input's fault, never cured by a retry. */
export class RejectedRowError extends Error {
  readonly disposition = 'dead-letter' as const;
  /** MySQL's own code and number, kept for the retry metric's label and the log. */
  readonly code: string | undefined;
  readonly errno: number;
  constructor(override readonly cause: Error & { code?: string; errno: number }) {
    super(cause.message);
    this.name = 'RejectedRowError';
    this.code = cause.code;
    this.errno = cause.errno;
  }
}

/** The typed error for a MySQL failure of the version transaction; others pass unchanged. */
export function typedMysqlError(error: unknown): unknown {
  const errno = (error as { errno?: unknown } | null)?.errno;
  if (error instanceof Error && typeof errno === 'number' && REJECTED_ROW_ERRNOS.has(errno))
    return new RejectedRowError(error as Error & { errno: number });
  return error;
}

/** EVENT_LOOKUP_CONCURRENCY lookups are running: refused at once rather than queued. */
export class EventLookupBusyError extends Error {
  readonly retryable = true;
  constructor(readonly concurrency: number) {
    super(`${concurrency} event lookup(s) already running (EVENT_LOOKUP_CONCURRENCY); retry later`);
    this.name = 'EventLookupBusyError';
  }
}

/** The lookup's scan reached its server-side time limit: whether the event was applied is unknown. */
export class EventLookupTimeoutError extends Error {
  readonly retryable = true;
  constructor(
    readonly timeoutMs: number,
    readonly windowMinutes: number,
  ) {
    super(
      `event lookup cut short after ${timeoutMs} ms (EVENT_LOOKUP_TIMEOUT_MS) before it had scanned ` +
        `the last ${windowMinutes} min of the ledger (EVENT_LOOKUP_WINDOW_MINUTES); not known whether it was applied`,
    );
    this.name = 'EventLookupTimeoutError';
  }
}
