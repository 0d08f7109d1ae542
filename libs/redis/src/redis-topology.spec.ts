import Redis, { Cluster } from 'ioredis';
import { groupBySlot, keyInSlotOf, slotOf } from './redis-topology';

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

describe('keyInSlotOf', () => {
  const clients = ['p:', 'app{', 'a{b}:'].map(
    (keyPrefix) => new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true, keyPrefix }),
  );
  afterAll(() => clients.forEach((c) => c.disconnect()));

  it('names a key in the slot of the given one, whatever braces the prefix or the key hold', () => {
    for (const client of clients) {
      for (const tag of ['products', 'product:123', 'x{y}', '}{', 'category:ü']) {
        const key = `shop.tag.${tag}`;
        const held = keyInSlotOf(client, key, (h) => `shop.purging.{${h}}.${tag}`);
        expect(held.endsWith(`.${tag}`)).toBe(true);
        expect(slotOf(client, held)).toBe(slotOf(client, key));
      }
    }
  });
});
