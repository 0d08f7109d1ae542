/** The batch was taken away (rebalance or shutdown) before it finished: leave it uncommitted. */
export class BatchAbandonedError extends Error {
  readonly retryable = false;
  constructor(readonly eventIds: string[]) {
    super(`batch of ${eventIds.length} event(s) abandoned before commit`);
    this.name = 'BatchAbandonedError';
  }
}
