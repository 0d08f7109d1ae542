/** What the saga sees of a broker batch: library-neutral, so kafkajs can be swapped out. */
export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

export interface IncomingBatch {
  readonly messages: IncomingMessage[];
  /** Epoch ms at which the consumer handed the batch over (the end of its fetch wait). */
  readonly receivedAtMs?: number;
  /** The batches merged into this one (BatchCoalescer), as they were handed in. */
  readonly parts?: readonly IncomingBatch[];
  /**
   * Keeps the consumer's group membership alive during a long saga or back-off. Rejects with
   * BatchRevokedError when the group rebalances (the batch is being taken away).
   */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was taken away by a rebalance. */
  isActive(): boolean;
  /** Commits the offset after the last message of the batch (offset + 1). */
  commit(): Promise<void>;
}

/** The group is rebalancing or no longer knows this member: the batch is being taken away. */
export class BatchRevokedError extends Error {
  readonly disposition = 'abandon' as const;
  constructor(override readonly cause: unknown) {
    super('the consumer group rebalanced; the batch is being revoked');
    this.name = 'BatchRevokedError';
  }
}

/** How often a saga heartbeats: the consumer's own interval, a fifth of the session at most. */
export function heartbeatIntervalMs(sessionTimeoutMs: number): number {
  return Math.min(3000, Math.floor(sessionTimeoutMs / 5));
}

/**
 * The waits before a batch's saga, in ms: `fetch` from its oldest message's timestamp (the
 * producer's clock, CreateTime) to the hand-over, `queue` from there to `startedAtMs`. The
 * oldest of each part's first messages (a partition's batch is in offset order): not a
 * timestamp parsed per event of a drain.
 */
export function batchWaits(batch: IncomingBatch, startedAtMs: number) {
  if (batch.receivedAtMs === undefined) return undefined;
  let oldest = Infinity;
  for (const { messages } of batch.parts ?? [batch])
    if (messages.length > 0) oldest = Math.min(oldest, Number(messages[0].timestamp));
  return {
    fetch: Number.isFinite(oldest) ? batch.receivedAtMs - oldest : 0,
    queue: startedAtMs - batch.receivedAtMs,
  };
}
