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
  /** Keeps the consumer's group membership alive during a long saga or back-off. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was taken away by a rebalance. */
  isActive(): boolean;
  /** Commits the offset after the last message of the batch (offset + 1). */
  commit(): Promise<void>;
}
