import { IncomingBatch } from './incoming-batch';

interface Waiting {
  batch: IncomingBatch;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The batches of several partitions, handled as one: one saga, one lock set, one transaction.
 * Active while every part is; heartbeats once (they share the consumer); commits every part.
 */
export function mergeBatches(parts: IncomingBatch[]): IncomingBatch {
  if (parts.length === 1) return parts[0];
  return {
    messages: parts.flatMap((p) => p.messages),
    heartbeat: () => parts[0].heartbeat(),
    isActive: () => parts.every((p) => p.isActive()),
    commit: async () => {
      await Promise.all(parts.map((p) => p.commit()));
    },
  };
}

/**
 * Group commit for sagas: batches handed in while a saga runs (the other partitions of the
 * same fetch) wait and go together into the next one, up to `maxEvents` (at least one batch).
 * The saga's cost is per saga, not per event, so the fewer the sagas, the higher the rate.
 * Each caller's promise settles with the saga that carried its batch.
 */
export class BatchCoalescer {
  private readonly waiting: Waiting[] = [];
  private running = false;
  private scheduled = false;

  constructor(
    private readonly handle: (batch: IncomingBatch) => Promise<void>,
    private readonly maxEvents: number,
  ) {}

  submit(batch: IncomingBatch): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ batch, resolve, reject });
      this.schedule();
    });
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

  private next(): void {
    if (this.running || this.waiting.length === 0) return;
    const taken = [this.waiting.shift() as Waiting];
    let events = taken[0].batch.messages.length;
    while (
      this.waiting.length > 0 &&
      events + this.waiting[0].batch.messages.length <= this.maxEvents
    ) {
      const more = this.waiting.shift() as Waiting;
      events += more.batch.messages.length;
      taken.push(more);
    }
    this.running = true;
    this.handle(mergeBatches(taken.map((t) => t.batch)))
      .then(
        () => taken.forEach((t) => t.resolve()),
        (error: unknown) => taken.forEach((t) => t.reject(error)),
      )
      .finally(() => {
        this.running = false;
        this.schedule();
      });
  }
}
