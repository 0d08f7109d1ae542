import { BatchRevokedError, IncomingBatch } from './incoming-batch';
import { BatchAbandonedError } from './saga-errors';

/**
 * A saga's hold on its batch: heartbeats on a timer for as long as the saga runs (inside a slow
 * step, a lock wait or a back-off alike), so the member outlives no session; and a check the saga
 * calls between steps, which stops it once the batch was revoked or the consumer is stopping.
 */
export class BatchLease {
  private revoked = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly batch: IncomingBatch,
    private readonly eventIds: () => string[],
    intervalMs: number,
    private readonly onHeartbeatError: (error: unknown) => void,
  ) {
    this.timer = setInterval(() => void this.beat(), intervalMs);
  }

  private async beat(): Promise<void> {
    try {
      await this.batch.heartbeat();
    } catch (error) {
      // A rebalance takes the batch away; anything else (a broker hiccup) is surfaced, not fatal.
      if (error instanceof BatchRevokedError) this.revoked = true;
      else this.onHeartbeatError(error);
    }
  }

  /** Throws BatchAbandonedError once the batch is no longer this saga's to finish. */
  check(): void {
    if (this.revoked || !this.batch.isActive()) throw new BatchAbandonedError(this.eventIds());
  }

  end(): void {
    clearInterval(this.timer);
  }
}
