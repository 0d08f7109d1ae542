import { BatchRevokedError, partitionKey } from '@invalidator/invalidation';

/** The offset to commit for one partition: the next one to read, not the last one handled. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

const NOT_OWNED = 'the partition is no longer assigned to this member';

interface Pending {
  key: string;
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
 *
 * A partition this member no longer owns when the request goes out is left out, and its
 * commits fail as revoked: the broker takes an offset commit from any member of the current
 * generation for any partition, so a commit asked for before a rebalance and sent after it
 * would move the new owner's committed offset back (seen: a two-instance run whose offsets
 * never all committed). The new owner fetches those events again; the ledger skips them.
 */
export class OffsetCommits {
  private asked = new Map<string, PartitionOffset>();
  private waiting: Pending[] = [];
  private inFlight = false;

  constructor(
    private readonly send: (offsets: PartitionOffset[]) => Promise<void>,
    /** Whether the partition is in this member's assignment now. */
    private readonly owns: (topic: string, partition: number) => boolean = () => true,
  ) {}

  /** Settles when a request carrying this offset (or a higher one of its partition) is done. */
  commit(offset: PartitionOffset): Promise<void> {
    const key = partitionKey(offset.topic, offset.partition);
    const earlier = this.asked.get(key);
    if (earlier === undefined || BigInt(offset.offset) > BigInt(earlier.offset))
      this.asked.set(key, offset);
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, resolve, reject });
      this.sendNext();
    });
  }

  private sendNext(): void {
    if (this.inFlight || this.waiting.length === 0) return;
    const owned = [...this.asked].filter(([, o]) => this.owns(o.topic, o.partition));
    const ownedKeys = new Set(owned.map(([key]) => key));
    const offsets = owned.map(([, o]) => o);
    const carried = this.waiting.filter((w) => ownedKeys.has(w.key));
    for (const w of this.waiting)
      if (!ownedKeys.has(w.key)) w.reject(new BatchRevokedError(new Error(NOT_OWNED)));
    this.asked = new Map();
    this.waiting = [];
    if (carried.length === 0) return;
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
