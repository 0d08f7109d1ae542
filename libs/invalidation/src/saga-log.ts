/** Log messages as constants, so a grep and a log query find the same words. */
export const SAGA_LOG = {
  completed: 'invalidation saga completed',
  retry: 'invalidation saga failed; retrying with back-off',
  fallback: 'redis lock unavailable; running the MySQL row-lock fallback',
  poison: 'event keeps failing with a data error; sent to the dead-letter topic',
  abandoned: 'batch abandoned before commit; it will be redelivered',
  heartbeatFailed: 'consumer heartbeat failed; the session may expire if this persists',
  checkThreadFailed: 'the check thread failed; the batch is checked on the main thread',
  failed: 'invalidation saga failed before its commit; the batch will be fetched again',
  commitFailed:
    'offset commit failed; the batch will be redelivered and deduplicated by the offset ledger',
} as const;
