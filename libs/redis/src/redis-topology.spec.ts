import Redis, { Cluster } from 'ioredis';
import { execOnNodes, groupBySlot, keyInSlotOf, slotOf } from './redis-topology';

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

describe('execOnNodes', () => {
  /**
   * A cluster whose pipelines answer each GET with a value (MOVED for the keys `move` names,
   * until the slot map is refreshed) and record what each one carried.
   */
  function fakeCluster(nodeOfSlot: (slot: number) => string) {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const sent: string[][] = [];
    let moved = new Set<string>();
    cluster.slots = Array.from({ length: 16384 }, (_, slot) => [nodeOfSlot(slot)]);
    jest.spyOn(cluster, 'pipeline').mockImplementation(() => {
      const commands: string[] = [];
      const fake = {
        get: (key: string) => commands.push(`get ${key}`),
        wait: () => commands.push('wait'),
        exec: async () => {
          sent.push(commands);
          return commands.map((c) => {
            const key = c.slice(4);
            if (moved.has(key))
              return [new Error(`MOVED ${slotOf(cluster, key)} 127.0.0.1:2`), null];
            return [null, c === 'wait' ? 1 : `value of ${key}`];
          });
        },
      };
      return fake as unknown as ReturnType<Cluster['pipeline']>;
    });
    jest.spyOn(cluster, 'refreshSlotsCache').mockImplementation((done) => {
      moved = new Set();
      done?.();
    });
    return { cluster, sent, move: (keys: string[]) => (moved = new Set(keys)) };
  }
  const keys = Array.from({ length: 12 }, (_, i) => `shop.tag.t${i}`);
  const commands = keys.map((key) => ({
    key,
    add: (p: ReturnType<Cluster['pipeline']>) => void p.get(key),
  }));

  it('sends one pipeline per node, with WAIT when replicated, replies in the commands order', async () => {
    const { cluster, sent } = fakeCluster((slot) => `node${slot % 3}`);
    const replies = await execOnNodes(cluster, commands, { replicated: true });
    expect(replies).toEqual(keys.map((k) => `value of ${k}`));
    expect(sent).toHaveLength(new Set(keys.map((k) => slotOf(cluster, k) % 3)).size);
    for (const pipeline of sent) expect(pipeline[pipeline.length - 1]).toBe('wait');
    expect(
      sent
        .flat()
        .filter((c) => c !== 'wait')
        .sort(),
    ).toEqual(keys.map((k) => `get ${k}`).sort());
    cluster.disconnect();
  });

  it('runs only the redirected commands again, after the slot map is refreshed', async () => {
    const { cluster, sent, move } = fakeCluster(() => 'node0');
    move([keys[3], keys[7]]);
    const replies = await execOnNodes(cluster, commands, { replicated: false });
    expect(replies).toEqual(keys.map((k) => `value of ${k}`));
    expect(sent).toEqual([keys.map((k) => `get ${k}`), [`get ${keys[3]}`, `get ${keys[7]}`]]);
    expect(cluster.refreshSlotsCache).toHaveBeenCalledTimes(1);
    cluster.disconnect();
  });

  it('throws an error that is no redirection', async () => {
    const { cluster } = fakeCluster(() => 'node0');
    jest.spyOn(cluster, 'pipeline').mockImplementation(
      () =>
        ({
          get: () => undefined,
          exec: async () => [[new Error('OOM command not allowed'), null]],
        }) as unknown as ReturnType<Cluster['pipeline']>,
    );
    await expect(execOnNodes(cluster, commands.slice(0, 1), { replicated: false })).rejects.toThrow(
      'OOM',
    );
    cluster.disconnect();
  });
});
