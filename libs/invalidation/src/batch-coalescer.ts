import { IncomingBatch, IncomingMessage } from './incoming-batch';

interface Waiting {
  batch: IncomingBatch;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Room in the queue for one batch of up to `events` events, held until used or released. */
export interface Room {
  /** Queues the batch; settles with the saga that carries it. */
  submit(batch: IncomingBatch): Promise<void>;
  /** Gives the room back unused. */
  release(): void;
}

/**
 * A batch that never ran: a saga carrying an earlier batch of one of its partitions failed, or
 * the coalescer is closing. Its events are fetched again from where that partition stopped.
 */
export class BatchSupersededError extends Error {
  readonly disposition = 'abandon' as const;
  constructor(reason: string) {
    super(`batch not applied: ${reason}`);
    this.name = 'BatchSupersededError';
  }
}

/**
 * The batches of several partitions, handled as one: one saga, one lock set, one transaction.
 * Active while every part is; heartbeats once (they share the consumer); commits every part,
 * in order.
 */
export function mergeBatches(parts: IncomingBatch[]): IncomingBatch {
  if (parts.length === 1) return parts[0];
  const received = parts.map((p) => p.receivedAtMs).filter((t) => t !== undefined);
  return {
    // concat, not flatMap: one copy of each part's array, tens of thousands of messages a saga.
    messages: ([] as IncomingMessage[]).concat(...parts.map((p) => p.messages)),
    parts,
    receivedAtMs: received.length > 0 ? Math.min(...received) : undefined,
    heartbeat: () => parts[0].heartbeat(),
    isActive: () => parts.every((p) => p.isActive()),
    // Every part asked for at once, in order, before any is awaited: commits are asked for in
    // saga order, and a part asked for only after an earlier part had committed could come
    // after the next saga's commit of its partition and move its offset back (seen: 178, then
    // 176, the partition's last events never committed).
    commit: async () => {
      await Promise.all(parts.map((part) => part.commit()));
    },
  };
}

/** How the coalescer names a partition (blocked partitions, refusals). */
export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

const partitionsOf = (batch: IncomingBatch) =>
  new Set(batch.messages.map((m) => partitionKey(m.topic, m.partition)));

/**
 * Group commit for sagas: batches handed in while a saga runs (the other partitions of the
 * fetch, the next fetch) wait and go together into the next one, up to `maxEvents` (at least
 * one batch). The saga's cost is per saga, not per event, so the fewer the sagas, the higher
 * the rate. Sagas run one at a time, in the order their batches came: a partition's batches
 * are applied in offset order, and when a saga fails, the waiting batches of its partitions
 * are refused too (BatchSupersededError), never applied ahead of the failed one, and so is
 * any batch of those partitions handed in later, until the caller has rewound the partition
 * and calls `unblock`. Each caller's promise settles with the saga that carried its batch.
 *
 * Back-pressure: at most `maxEvents` events wait behind the running saga. A caller reserves
 * room for its batch before fetching on, and rooms are given in the order they were asked for.
 */
export class BatchCoalescer {
  private readonly waiting: Waiting[] = [];
  private waitingEvents = 0;
  /** Events of rooms given but not yet used: counted as waiting. */
  private reservedEvents = 0;
  private readonly roomWaiters: { events: number; give: () => void }[] = [];
  private running?: Promise<void>;
  private scheduled = false;
  private closed = false;
  /** Partitions whose saga failed: refused until unblocked (after the caller's rewind). */
  private readonly blocked = new Set<string>();
  /** Failed sagas of each partition so far: its rewind generation. */
  private readonly rewinds = new Map<string, number>();

  /** The commits in flight of applied sagas; they never reject (failures go to the callers). */
  private readonly committing = new Set<Promise<void>>();

  /**
   * `handle` applies a batch; it may resolve with the batch's commit, which is then called at
   * once, while the next saga is applied (each saga still commits only after its own locks are
   * released; a crash before the commit redelivers, the ledger skips). `prepare`, if given, is
   * called with each batch as it is queued: work done then (checking its messages) runs while
   * the saga ahead of it waits on its stores, not in its own saga's time.
   */
  constructor(
    private readonly handle: (batch: IncomingBatch) => Promise<(() => Promise<void>) | void>,
    private readonly maxEvents: number,
    private readonly prepare?: (batch: IncomingBatch) => void,
  ) {}

  /**
   * Resolves once a batch of `events` fits among the waiting ones (an empty queue takes any
   * batch); the room is held from then on, so callers woken together never overfill it.
   */
  reserve(events: number): Promise<Room> {
    return new Promise((resolve) => {
      this.roomWaiters.push({ events, give: () => resolve(this.room(events)) });
      this.giveRoom();
    });
  }

  isBlocked(topic: string, partition: number): boolean {
    return this.blocked.has(partitionKey(topic, partition));
  }

  /**
   * Goes up with every failed saga of the partition. A caller that fetched a batch under one
   * generation and finds another after waiting for room holds a batch from before a rewind:
   * the refetch brings its events again, in order, so it must not be submitted.
   */
  generation(topic: string, partition: number): number {
    return this.rewinds.get(partitionKey(topic, partition)) ?? 0;
  }

  /** The partition was rewound to its failed batch: its batches are taken again. */
  unblock(topic: string, partition: number): void {
    this.blocked.delete(partitionKey(topic, partition));
  }

  /** Refuses what waits, lets the saga in flight finish (commit included), then resolves. */
  async close(): Promise<void> {
    this.closed = true;
    this.refuse(() => true, 'the consumer is stopping');
    await this.running;
    await Promise.all(this.committing);
  }

  /** Starts the next saga on the next turn: the partitions of one fetch arrive in one turn. */
  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.next();
    });
  }

  private room(events: number): Room {
    let held = true;
    const giveBack = () => {
      held = false;
      this.reservedEvents -= events;
    };
    return {
      submit: (batch) => {
        if (!held) throw new Error('room already used or released');
        if (batch.messages.length > events)
          throw new Error(`a batch of ${batch.messages.length} events in room for ${events}`);
        giveBack();
        // Counted as waiting before the room it leaves (a smaller batch) goes to the next asker.
        const settled = this.submit(batch);
        this.giveRoom();
        return settled;
      },
      release: () => {
        if (!held) return;
        giveBack();
        this.giveRoom();
      },
    };
  }

  private submit(batch: IncomingBatch): Promise<void> {
    if (this.closed) return Promise.reject(new BatchSupersededError('the consumer is stopping'));
    if (this.blocked.size > 0 && [...partitionsOf(batch)].some((p) => this.blocked.has(p)))
      return Promise.reject(new BatchSupersededError('an earlier batch of its partition failed'));
    this.prepare?.(batch);
    return new Promise((resolve, reject) => {
      this.waiting.push({ batch, resolve, reject });
      this.waitingEvents += batch.messages.length;
      this.schedule();
    });
  }

  private take(): Waiting {
    const next = this.waiting.shift() as Waiting;
    this.waitingEvents -= next.batch.messages.length;
    return next;
  }

  private next(): void {
    if (this.running || this.waiting.length === 0) return;
    const taken = [this.take()];
    let events = taken[0].batch.messages.length;
    while (
      this.waiting.length > 0 &&
      events + this.waiting[0].batch.messages.length <= this.maxEvents
    ) {
      const more = this.take();
      events += more.batch.messages.length;
      taken.push(more);
    }
    this.giveRoom();
    const applied = this.handle(mergeBatches(taken.map((t) => t.batch)));
    // The next saga starts once this one is applied; its commit runs beside the next saga.
    // Commits are asked for in saga order (the caller keeps one request in flight and sends
    // the ones asked for meanwhile together, so offsets never go out of order).
    this.running = applied
      .then(
        (commit) => {
          const committed = (commit ? commit() : Promise.resolve()).then(
            () => taken.forEach((t) => t.resolve()),
            (error: unknown) => this.failed(taken, error),
          );
          this.committing.add(committed);
          void committed.finally(() => this.committing.delete(committed));
        },
        // Known before the next saga starts: none of its partitions' batches slips in.
        (error: unknown) => this.failed(taken, error),
      )
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }

  /**
   * A saga or its commit failed: its partitions are blocked (refused until the caller's rewind
   * unblocks them), its callers hear of it, and the waiting batches of those partitions are
   * refused. A later saga already applied when a commit fails still commits: its offsets cover
   * the failed batch, which was applied too (the refetch after the rewind is skipped by the ledger).
   */
  private failed(taken: Waiting[], error: unknown): void {
    const failed = new Set(taken.flatMap((t) => [...partitionsOf(t.batch)]));
    // Blocked before anyone hears of the failure: no later batch slips in meanwhile.
    failed.forEach((p) => {
      this.blocked.add(p);
      this.rewinds.set(p, (this.rewinds.get(p) ?? 0) + 1);
    });
    taken.forEach((t) => t.reject(error));
    this.refuse(
      (batch) => [...partitionsOf(batch)].some((p) => failed.has(p)),
      'an earlier batch of its partition failed',
    );
  }

  private refuse(which: (batch: IncomingBatch) => boolean, reason: string): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (!which(this.waiting[i].batch)) continue;
      const [refused] = this.waiting.splice(i, 1);
      this.waitingEvents -= refused.batch.messages.length;
      refused.reject(new BatchSupersededError(reason));
    }
    this.giveRoom();
  }

  /** Gives room in order while the first asker fits (all of them once closing: none submits). */
  private giveRoom(): void {
    while (this.roomWaiters.length > 0) {
      const queued = this.waitingEvents + this.reservedEvents;
      const { events } = this.roomWaiters[0];
      if (!this.closed && queued > 0 && queued + events > this.maxEvents) return;
      this.reservedEvents += events;
      this.roomWaiters.shift()?.give();
    }
  }
}
