import { BatchCoalescer, BatchRevokedError } from '@invalidator/invalidation';
import { OffsetCommits, PartitionOffset } from './offset-commits';

const at = (partition: number, offset: number): PartitionOffset => ({
  topic: 't',
  partition,
  offset: String(offset),
});

/** A broker whose answers the test gives, one request at a time. */
function heldBroker() {
  const requests: { offsets: PartitionOffset[]; answer: (error?: Error) => void }[] = [];
  const send = (offsets: PartitionOffset[]) =>
    new Promise<void>((resolve, reject) => {
      requests.push({ offsets, answer: (error) => (error ? reject(error) : resolve()) });
    });
  return { requests, send };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(OffsetCommits.name, () => {
  it('keeps one request in flight and sends what was asked meanwhile together, each partition at its highest offset', async () => {
    const broker = heldBroker();
    const sut = new OffsetCommits(broker.send);
    const first = sut.commit(at(0, 5));
    await flush();
    const later = [sut.commit(at(0, 9)), sut.commit(at(1, 3)), sut.commit(at(0, 7))];
    await flush();
    expect(broker.requests.map((r) => r.offsets)).toEqual([[at(0, 5)]]);

    broker.requests[0].answer();
    await first;
    await flush();
    expect(broker.requests).toHaveLength(2);
    expect(broker.requests[1].offsets).toEqual([at(0, 9), at(1, 3)]);
    broker.requests[1].answer();
    await Promise.all(later);
    expect(broker.requests).toHaveLength(2);
  });

  it('fails every commit a failed request carried, and goes on with the next', async () => {
    const broker = heldBroker();
    const sut = new OffsetCommits(broker.send);
    const first = sut.commit(at(0, 1));
    await flush();
    const carried = [sut.commit(at(0, 2)), sut.commit(at(1, 2))];
    await flush();
    broker.requests[0].answer();
    await first;
    await flush();
    broker.requests[1].answer(new Error('ILLEGAL_GENERATION'));
    for (const c of carried) await expect(c).rejects.toThrow('ILLEGAL_GENERATION');

    const next = sut.commit(at(0, 3));
    await flush();
    expect(broker.requests[2].offsets).toEqual([at(0, 3)]);
    broker.requests[2].answer();
    await next;
  });

  it('leaves out a partition this member no longer owns when the request goes out: its commits fail as revoked, the rest go out', async () => {
    const broker = heldBroker();
    const owned = new Set([0, 1]);
    const sut = new OffsetCommits(broker.send, (_topic, partition) => owned.has(partition));
    const first = sut.commit(at(0, 1));
    await flush();
    // Asked for while partition 1 was ours; a rebalance gives it to another member meanwhile.
    const kept = sut.commit(at(0, 4));
    const moved = [sut.commit(at(1, 7)), sut.commit(at(1, 9))];
    owned.delete(1);
    broker.requests[0].answer();
    await first;
    for (const m of moved) await expect(m).rejects.toThrow(BatchRevokedError);
    await flush();
    expect(broker.requests.map((r) => r.offsets)).toEqual([[at(0, 1)], [at(0, 4)]]);
    broker.requests[1].answer();
    await kept;

    // Nothing of its own left to send: no request at all.
    const alone = sut.commit(at(1, 12));
    await expect(alone).rejects.toThrow(BatchRevokedError);
    await flush();
    expect(broker.requests).toHaveLength(2);
  });

  it("a merged saga's parts and the next saga's batch of one of them: that partition's committed offset never goes back", async () => {
    const broker = heldBroker();
    const sut = new OffsetCommits(broker.send);
    // Each saga resolves with its batch's commit, as ConsumeBatch does.
    const coalescer = new BatchCoalescer(async (batch) => () => batch.commit(), 100);
    const queue = async (offset: PartitionOffset) =>
      (await coalescer.reserve(1)).submit({
        messages: [
          {
            topic: 't',
            partition: offset.partition,
            offset: '0',
            key: null,
            value: null,
            timestamp: '0',
          },
        ],
        heartbeat: () => Promise.resolve(),
        isActive: () => true,
        commit: () => sut.commit(offset),
      });
    // Saga 1 carries partitions 0, 1 and 5 (up to 176); saga 2, applied while saga 1's commit
    // is out, carries partition 5's next batch (up to 178). Seen on the real stack: the
    // committed offset of partition 5 went 178, then 176, and stayed there.
    const first = [queue(at(0, 161)), queue(at(1, 171)), queue(at(5, 176))];
    await flush();
    await flush();
    const second = queue(at(5, 178));
    // The broker answers each request in turn, until nothing more is sent.
    for (let answered = 0; answered < 10; answered++) {
      await flush();
      broker.requests[answered]?.answer();
    }
    await Promise.all([...first, second]);
    const sent = broker.requests.flatMap((r) => r.offsets).filter((o) => o.partition === 5);
    expect(sent.map((o) => Number(o.offset))).toEqual(
      [...sent.map((o) => Number(o.offset))].sort((a, b) => a - b),
    );
    expect(sent[sent.length - 1]).toEqual(at(5, 178));
  });
});
