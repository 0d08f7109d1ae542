import { BatchRevokedError } from '@invalidator/invalidation';
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
});
