/** The batch was taken away (rebalance or shutdown) before it finished: leave it uncommitted. */
export class BatchAbandonedError extends Error {
  readonly disposition = 'abandon' as const;
  constructor(readonly eventIds: string[]) {
    super(`batch of ${eventIds.length} event(s) abandoned before commit`);
    this.name = 'BatchAbandonedError';
  }
}

/** An idempotency key already applied to other data types: refused, nothing bumped. */
export class IdempotencyKeyReusedError extends Error {
  /** The caller's own fault: refused, never retried. */
  readonly disposition = 'dead-letter' as const;
  constructor(
    readonly dataTypes: string[],
    readonly earlierDataTypes: string[],
  ) {
    super(
      `idempotency key already used for [${earlierDataTypes.join(', ')}], not [${dataTypes.join(', ')}]`,
    );
    this.name = 'IdempotencyKeyReusedError';
  }
}

/**
 * MySQL refused a write no event can be blamed for: the same transaction under fresh event ids
 * was refused too (a trigger freezing writes, a column altered). The store's fault: counted by
 * the breaker, retried, never dead-lettered.
 */
export class StoreRefusedError extends Error {
  readonly disposition = 'retry' as const;
  constructor(
    override readonly cause: Error,
    readonly eventIds: string[],
  ) {
    super(`the store refuses writes of any event: ${cause.message}`);
    this.name = 'StoreRefusedError';
  }
}

/** The saga finished, but the batch's offsets could not be committed. */
export class OffsetCommitError extends Error {
  constructor(override readonly cause: unknown) {
    super('offset commit failed');
    this.name = 'OffsetCommitError';
  }
}
