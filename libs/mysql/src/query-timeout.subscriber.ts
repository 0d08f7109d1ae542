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
@EventSubscriber()
export class QueryTimeoutSubscriber implements EntitySubscriberInterface {
  afterQuery(event: AfterQueryEvent): void {
    const code = (event.error as { code?: unknown } | undefined)?.code;
    if (event.success || code !== QUERY_TIMED_OUT) return;
    const runner = event.queryRunner as { databaseConnection?: { destroy?: () => void } };
    runner.databaseConnection?.destroy?.();
  }
}
