import { BatchCoalescer, BatchSupersededError } from './batch-coalescer';
import { IncomingBatch } from './incoming-batch';

function batch(partition: number, offsets: number[], journal: string[]): IncomingBatch {
  return {
    messages: offsets.map((offset) => ({
      topic: 't',
      partition,
      offset: String(offset),
      key: null,
      value: null,
      timestamp: '0',
    })),
    heartbeat: async () => undefined,
    isActive: () => true,
    commit: async () => void journal.push(`commit p${partition}@${offsets.at(-1)}`),
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Reserves room for the batch, then queues it: what the fetch loop does. */
const submit = (sut: BatchCoalescer, b: IncomingBatch) =>
  sut.reserve(b.messages.length).then((room) => room.submit(b));

/** Batches of partition 0 at these offsets, each handed in on a turn of its own. */
async function oneByOne(sut: BatchCoalescer, journal: string[], offsets: number[]) {
  const settled: Promise<void>[] = [];
  for (const offset of offsets) {
    settled.push(submit(sut, batch(0, [offset], journal)));
    await flush();
  }
  return settled;
}

describe(BatchCoalescer.name, () => {
  it('merges the batches handed in during one turn into one saga, committing each in order', async () => {
    const journal: string[] = [];
    const sagas: number[] = [];
    const sut = new BatchCoalescer(async (merged) => {
      sagas.push(merged.messages.length);
      await merged.commit();
    }, 100);

    await Promise.all([
      submit(sut, batch(0, [0, 1], journal)),
      submit(sut, batch(1, [0], journal)),
      submit(sut, batch(0, [2, 3], journal)),
    ]);

    expect(sagas).toEqual([5]);
    expect(journal).toEqual(['commit p0@1', 'commit p1@0', 'commit p0@3']);
  });

  it('prepares each batch as it is queued, while the saga ahead of it still runs', async () => {
    const journal: string[] = [];
    let finish = () => undefined as void;
    let sagas = 0;
    const sut = new BatchCoalescer(
      (merged) => {
        journal.push(`saga of ${merged.messages.length}`);
        return ++sagas === 1
          ? new Promise<void>((resolve) => (finish = resolve))
          : Promise.resolve();
      },
      100,
      (queued) => journal.push(`prepare p${queued.messages[0].partition}`),
    );

    const first = submit(sut, batch(0, [0], journal));
    await flush();
    await flush();
    const second = submit(sut, batch(1, [0, 1], journal));
    await flush();
    expect(journal).toEqual(['prepare p0', 'saga of 1', 'prepare p1']);
    finish();
    await Promise.all([first, second]);

    expect(journal).toEqual(['prepare p0', 'saga of 1', 'prepare p1', 'saga of 2']);
  });

  it('runs one saga at a time, at most maxEvents each, in the order the batches came', async () => {
    const order: string[] = [];
    let running = 0;
    const sut = new BatchCoalescer(async (merged) => {
      running++;
      expect(running).toBe(1);
      order.push(merged.messages.map((m) => `${m.partition}@${m.offset}`).join(','));
      await flush();
      running--;
    }, 3);

    await Promise.all([
      submit(sut, batch(0, [0, 1], [])),
      submit(sut, batch(1, [0, 1], [])),
      submit(sut, batch(0, [2], [])),
    ]);

    expect(order).toEqual(['0@0,0@1', '1@0,1@1,0@2']);
  });

  it('when a saga fails, refuses the waiting batches of its partitions and keeps the others', async () => {
    let first = true;
    const applied: string[] = [];
    const sut = new BatchCoalescer(async (merged) => {
      const parts = [...new Set(merged.messages.map((m) => m.partition))].join(',');
      if (first) {
        first = false;
        await flush();
        throw new Error('saga failed');
      }
      applied.push(parts);
    }, 2);

    const failing = submit(sut, batch(0, [0, 1], []));
    await flush();
    const samePartition = submit(sut, batch(0, [2, 3], []));
    const otherPartition = submit(sut, batch(1, [0, 1], []));

    await expect(failing).rejects.toThrow('saga failed');
    await expect(samePartition).rejects.toBeInstanceOf(BatchSupersededError);
    await expect(otherPartition).resolves.toBeUndefined();
    expect(applied).toEqual(['1']);
    // Until the caller has rewound partition 0, later batches of it are refused as well.
    expect(sut.isBlocked('t', 0)).toBe(true);
    // A batch of partition 0 fetched before the failure is told by the rewind generation.
    expect([sut.generation('t', 0), sut.generation('t', 1)]).toEqual([1, 0]);
    await expect(submit(sut, batch(0, [4], []))).rejects.toBeInstanceOf(BatchSupersededError);
    sut.unblock('t', 0);
    await expect(submit(sut, batch(0, [0, 1], []))).resolves.toBeUndefined();
    expect(applied).toEqual(['1', '0']);
  });

  it('holds the fetch loop back while a saga of events waits, and lets the running saga finish on close', async () => {
    let release: () => void = () => undefined;
    const sut = new BatchCoalescer(() => new Promise<void>((r) => (release = r)), 2);
    const running = submit(sut, batch(0, [0, 1], []));
    await flush();
    const waiting = submit(sut, batch(0, [2, 3], []));

    let room = false;
    const roomGiven = sut.reserve(1).then((given) => {
      room = true;
      return given;
    });
    await flush();
    expect(room).toBe(false);

    const closed = sut.close();
    await expect(waiting).rejects.toBeInstanceOf(BatchSupersededError);
    const given = await roomGiven;
    await expect(given.submit(batch(0, [4], []))).rejects.toBeInstanceOf(BatchSupersededError);
    release();
    await closed;
    await expect(running).resolves.toBeUndefined();
    await expect(submit(sut, batch(0, [4], []))).rejects.toBeInstanceOf(BatchSupersededError);
  });

  it('gives room in the order it was asked for, and holds it until used or released', async () => {
    // A saga that never ends: what is queued behind it stays queued.
    const sut = new BatchCoalescer(() => new Promise<void>(() => undefined), 4);
    void submit(sut, batch(9, [0], []));
    await flush();
    const given: string[] = [];
    const ask = (name: string, events: number) =>
      sut.reserve(events).then((room) => {
        given.push(name);
        return room;
      });

    const a = await ask('A', 3);
    const b = ask('B', 2);
    // C would fit beside A, but waits its turn behind B.
    const c = ask('C', 1);
    await flush();
    expect(given).toEqual(['A']);

    a.release();
    const [roomB, roomC] = await Promise.all([b, c]);
    expect(given).toEqual(['A', 'B', 'C']);

    // B's batch queued and C's room held: 3 of 4 events, so D's 2 wait until C lets go.
    void roomB.submit(batch(1, [0, 1], []));
    const d = ask('D', 2);
    await flush();
    expect(given).toEqual(['A', 'B', 'C']);
    roomC.release();
    await d;
    expect(given).toEqual(['A', 'B', 'C', 'D']);
  });

  it("starts the next saga while the last ones' commits are in flight, asking for them in saga order", async () => {
    const journal: string[] = [];
    const commits: (() => void)[] = [];
    const sut = new BatchCoalescer(async (merged) => {
      const offsets = merged.messages.map((m) => m.offset).join(',');
      journal.push(`saga ${offsets}`);
      // The saga is done; its commit runs when the coalescer calls it, and is held here.
      return async () => {
        journal.push(`commit asked ${offsets}`);
        await new Promise<void>((resolve) => commits.push(resolve));
        await merged.commit();
      };
    }, 1);

    const [first, second, third] = await oneByOne(sut, journal, [0, 1, 2]);
    await flush();
    // No saga waits for a commit: all three ran, their commits asked for in order, none done.
    expect(journal).toEqual([
      'saga 0',
      'commit asked 0',
      'saga 1',
      'commit asked 1',
      'saga 2',
      'commit asked 2',
    ]);
    let settled = false;
    void first.then(() => (settled = true));
    await flush();
    // A caller's promise settles with its batch's commit, not with its saga.
    expect(settled).toBe(false);
    commits.forEach((release) => release());
    await Promise.all([first, second, third]);
    expect(journal.slice(6)).toEqual(['commit p0@0', 'commit p0@1', 'commit p0@2']);
  });

  it('waits for the commits in flight when it closes', async () => {
    const journal: string[] = [];
    let release: () => void = () => undefined;
    const sut = new BatchCoalescer(async (merged) => {
      return async () => {
        await new Promise<void>((r) => (release = r));
        await merged.commit();
      };
    }, 10);
    const first = submit(sut, batch(0, [0], journal));
    await flush();
    await flush();
    let closed = false;
    const closing = sut.close().then(() => (closed = true));
    await flush();
    expect(closed).toBe(false);
    release();
    await Promise.all([first, closing]);
    expect(journal).toEqual(['commit p0@0']);
  });

  it("a failed commit refuses its partition's waiting batches, as a failed saga does", async () => {
    const journal: string[] = [];
    let failFirstCommit: () => void = () => undefined;
    let holdSaga: () => void = () => undefined;
    const sut = new BatchCoalescer(async (merged) => {
      const offset = merged.messages[0].offset;
      if (offset === '1') await new Promise<void>((r) => (holdSaga = r));
      journal.push(`saga ${offset}`);
      return async () => {
        if (offset === '0') {
          await new Promise<void>((r) => (failFirstCommit = r));
          throw new Error('commit failed');
        }
        await merged.commit();
      };
    }, 1);
    const [first, second, third] = await oneByOne(sut, journal, [0, 1, 2]);
    failFirstCommit();
    await expect(first).rejects.toThrow('commit failed');
    await expect(third).rejects.toBeInstanceOf(BatchSupersededError);
    expect(sut.isBlocked('t', 0)).toBe(true);
    // The saga already running when the commit failed finishes and commits (its offset covers
    // the failed batch, which was applied; the refetch after the rewind is skipped by the ledger).
    holdSaga();
    await second;
    expect(journal).toEqual(['saga 0', 'saga 1', 'commit p0@1']);
  });
});
