import { partitionKey } from '@invalidator/invalidation';

/** The offset to commit for one partition: the next one to read, not the last one handled. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

interface Pending {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Offset commits with one request in flight: the commits asked for while it is out go
 * together in the next request, each partition at the highest offset asked for. A broker
 * answers a connection's requests in order, so a commit queues behind the consumer's fetch
 * in flight; sagas that finish meanwhile share the next commit instead of each waiting for
 * its own. Asked for in saga order, so a partition's committed offset only moves forward.
 * A failed request fails every commit it carried.
 */
export class OffsetCommits {
  private asked = new Map<string, PartitionOffset>();
  private waiting: Pending[] = [];
  private inFlight = false;

  constructor(private readonly send: (offsets: PartitionOffset[]) => Promise<void>) {}

  /** Settles when a request carrying this offset (or a higher one of its partition) is done. */
  commit(offset: PartitionOffset): Promise<void> {
    const key = partitionKey(offset.topic, offset.partition);
    const earlier = this.asked.get(key);
    if (earlier === undefined || BigInt(offset.offset) > BigInt(earlier.offset))
      this.asked.set(key, offset);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sendNext();
    });
  }

  private sendNext(): void {
    if (this.inFlight || this.waiting.length === 0) return;
    const offsets = [...this.asked.values()];
    const carried = this.waiting;
    this.asked = new Map();
    this.waiting = [];
    this.inFlight = true;
    Promise.resolve()
      .then(() => this.send(offsets))
      .then(
        () => carried.forEach((c) => c.resolve()),
        (error: unknown) => carried.forEach((c) => c.reject(error)),
      )
      .finally(() => {
        this.inFlight = false;
        this.sendNext();
      });
  }
}
