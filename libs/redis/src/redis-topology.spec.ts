import Redis, { Cluster } from 'ioredis';
import { groupBySlot, slotOf } from './redis-topology';

describe('groupBySlot', () => {
  const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], {
    lazyConnect: true,
    keyPrefix: 'p:',
  });
  const single = new Redis({ lazyConnect: true });
  afterAll(() => {
    cluster.disconnect();
    single.disconnect();
  });

  it('on a single Redis every key is in one group (one round trip)', () => {
    const keys = ['shop.version.products', 'inertia.data.version', 'shop.tag.a'];
    expect(groupBySlot(single, keys, (k) => k)).toEqual([keys]);
  });

  it('on a cluster keys are grouped by the slot of their prefixed name', () => {
    const keys = ['shop.version.products', 'inertia.data.version', 'a{t}', 'b{t}'];
    const groups = groupBySlot(cluster, keys, (k) => k);
    expect(groups).toContainEqual(['a{t}', 'b{t}']);
    expect(groups).toHaveLength(3);
    // The slot of a key is the slot of the name the server sees, prefix included.
    expect(slotOf(cluster, 'shop.version.products')).not.toBe(
      slotOf(cluster, 'inertia.data.version'),
    );
  });
});
