import { EntitySubscriberInterface, EventSubscriber } from 'typeorm';
import type { AfterQueryEvent } from 'typeorm/subscriber/event/QueryEvent';

/** mysql2's error when a statement saw no answer within its `timeout`. */
const QUERY_TIMED_OUT = 'PROTOCOL_SEQUENCE_TIMEOUT';

/**
 * mysql2 rejects a timed-out statement but keeps it queued on its connection: back in the pool,
 * that connection would hang every later statement behind it. A timed-out statement destroys
 * its connection instead (the server rolls its transaction back when it notices, at the
 * latest after the session's wait_timeout).
 */
export function destroyIfTimedOut(
  error: unknown,
  connection: { destroy?: () => void } | undefined,
): void {
  if ((error as { code?: unknown } | undefined)?.code === QUERY_TIMED_OUT) connection?.destroy?.();
}

/** The same for every statement sent through TypeORM. */
@EventSubscriber()
export class QueryTimeoutSubscriber implements EntitySubscriberInterface {
  afterQuery(event: AfterQueryEvent): void {
    if (event.success) return;
    const runner = event.queryRunner as { databaseConnection?: { destroy?: () => void } };
    destroyIfTimedOut(event.error, runner.databaseConnection);
  }
}
