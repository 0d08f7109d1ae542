import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { CacheClient } from './cache-client';

const CHANNEL = 'shop1:shop.versions.changed';

/**
 * A stand-in for ioredis: values with their expiry, version keys, the store script's check,
 * the read script's GET and TTL, and a subscriber that can be sent messages, lost and back.
 */
class FakeRedis extends EventEmitter {
  readonly options = { keyPrefix: 'shop1:' };
  readonly values = new Map<string, { bytes: Buffer; expiresAt: number }>();
  readonly versions = new Map<string, string>();
  subscriber?: FakeRedis;
  reads = 0;

  constructor(private readonly clock: () => number) {
    super();
  }

  async get(key: string): Promise<string | null> {
    return this.versions.get(key) ?? null;
  }

  async getBuffer(key: string): Promise<Buffer | null> {
    this.reads += 1;
    return this.live(key)?.bytes ?? null;
  }

  /** The read script: [value, TTL in seconds rounded, or -2]. */
  async callBuffer(command: string, _script: string, _n: number, key: string) {
    expect(command).toBe('eval');
    this.reads += 1;
    const value = this.live(key);
    if (!value) return [null, -2];
    return [value.bytes, Math.round((value.expiresAt - this.clock()) / 1000)];
  }

  /** The store script: KEYS value, n versions, m tags; ARGV n, m, check, ttl, value, member, noted. */
  async eval(_script: string, keyCount: number, ...rest: (string | number | Buffer)[]) {
    const keys = rest.slice(0, keyCount) as string[];
    const args = rest.slice(keyCount);
    const key = keys[0];
    const types = Number(args[0]);
    if (args[2] === '1') {
      for (let i = 0; i < types; i++) {
        const stored = this.versions.get(keys[1 + i]);
        const version = stored ? (JSON.parse(stored) as { version: number }).version : 0;
        if (version !== Number(args[6 + i])) return 0;
      }
    }
    this.values.set(key, {
      bytes: args[4] as Buffer,
      expiresAt: this.clock() + Number(args[3]) * 1000,
    });
    return 1;
  }

  duplicate(): FakeRedis {
    this.subscriber = new FakeRedis(this.clock);
    return this.subscriber;
  }

  async subscribe(): Promise<void> {}

  async quit(): Promise<void> {}

  version(type: string, version: number): void {
    this.versions.set(`shop.version.${type}`, JSON.stringify({ version }));
  }

  /** The service's order: versions written, tagged entries purged, then the announcement. */
  change(type: string, version: number, purged: string[] = []): void {
    this.version(type, version);
    for (const key of purged) this.values.delete(key);
    this.subscriber?.emit('message', CHANNEL, JSON.stringify({ versions: { [type]: version } }));
  }

  private live(key: string) {
    const value = this.values.get(key);
    return value && value.expiresAt > this.clock() ? value : undefined;
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('CacheClient with the local tier', () => {
  let now: number;
  let redis: FakeRedis;
  let client: CacheClient;
  let fills: number;
  const realNow = Date.now;

  const read = (key: string, value: string, tags: string[] = [], types = ['products']) =>
    client.remember(key, { ttl: 10, tags, types }, async () => {
      fills += 1;
      return value;
    });

  beforeEach(async () => {
    now = 1_000_000;
    // The client reckons expiry with Date.now: the fake clock stands in for it.
    Date.now = () => now;
    redis = new FakeRedis(() => now);
    redis.version('products', 4);
    redis.version('categories', 2);
    fills = 0;
    client = await CacheClient.connect({
      redis: redis as unknown as Redis,
      local: { maxEntries: 2, maxBytes: 1000 },
      minTtl: 10,
      maxTtl: 10,
    });
  });

  afterEach(() => {
    Date.now = realNow;
  });

  it('answers a read again from process memory, counted apart from Redis hits', async () => {
    expect(await read('p:1', 'one')).toBe('one');
    const reads = redis.reads;

    expect(await read('p:1', 'other')).toBe('one');
    expect(redis.reads).toBe(reads);
    expect(fills).toBe(1);
    expect(client.stats()).toMatchObject({ localHits: 1, hits: 0, misses: 1 });
    expect(client.localTier()).toEqual({ entries: 1, bytes: 5, listening: true });
  });

  it('each hit is a copy: a caller changing its value does not change the kept one', async () => {
    await client.remember('p:1', { ttl: 10 }, async () => ({ name: 'tea' }));
    const first = await client.remember('p:1', { ttl: 10 }, async () => ({ name: 'x' }));
    first.name = 'changed';

    expect(await client.remember('p:1', { ttl: 10 }, async () => ({ name: 'x' }))).toEqual({
      name: 'tea',
    });
  });

  it('keeps a Redis hit with the TTL Redis has left, less the rounding', async () => {
    await read('p:1', 'one');
    const other = await CacheClient.connect({
      redis: redis as unknown as Redis,
      local: { maxEntries: 2, maxBytes: 1000 },
    });
    now += 4000;
    // 6 s left in Redis: kept 5.5 s from the read.
    expect(await other.remember('p:1', { ttl: 10, types: ['products'] }, async () => 'x')).toBe(
      'one',
    );
    now += 5499;
    expect(await other.remember('p:1', { ttl: 10, types: ['products'] }, async () => 'x')).toBe(
      'one',
    );
    expect(other.stats()).toMatchObject({ hits: 1, localHits: 1 });
    now += 1;
    expect(other.localTier()?.entries).toBe(1);
    await other.remember('p:1', { ttl: 10, types: ['products'] }, async () => 'x');
    expect(other.stats()).toMatchObject({ hits: 2, localHits: 1 });
  });

  it('never outlives its Redis entry: gone at the TTL the fill stored', async () => {
    await read('p:1', 'one');
    now += 9999;
    expect(await read('p:1', 'two')).toBe('one');
    now += 1;

    // Redis's entry expired too: a miss, filled again.
    expect(await read('p:1', 'two')).toBe('two');
    expect(client.stats()).toMatchObject({ localHits: 1, misses: 2 });
  });

  it('keeps maxEntries and maxBytes, the least recently read going first', async () => {
    await read('p:1', 'one');
    await read('p:2', 'two');
    await read('p:1', 'one');
    await read('p:3', 'three');

    expect(client.localTier()).toMatchObject({ entries: 2, bytes: 12 });
    const local = client.stats().localHits;
    await read('p:1', 'x');
    await read('p:3', 'x');
    expect(client.stats().localHits).toBe(local + 2);
    // p:2 went: read from Redis.
    await read('p:2', 'x');
    expect(client.stats()).toMatchObject({ localHits: local + 2, hits: 1 });

    await client.remember('big', { ttl: 10 }, async () => 'x'.repeat(1000));
    expect(client.localTier()?.bytes).toBeLessThanOrEqual(1000);
  });

  it("an announcement of an entry's type drops it at once; one of another type does not", async () => {
    await read('p:1', 'one', [], ['products']);
    await read('c:1', 'cat', [], ['categories']);

    redis.change('products', 5);
    expect(client.localTier()?.entries).toBe(1);
    // Redis still holds p:1 (untagged: only a versioned key retires it there), so a Redis hit,
    // not kept again: it was filled under products 4.
    expect(await read('p:1', 'x', [], ['products'])).toBe('one');
    expect(await read('c:1', 'x', [], ['categories'])).toBe('cat');
    expect(client.stats()).toMatchObject({ localHits: 1, hits: 1 });
    expect(client.localTier()?.entries).toBe(1);
  });

  it('a versioned key of a moved type is a new entry, filled and kept', async () => {
    const key = async () => client.key('products', 'list');
    await read(await key(), 'list v4');
    redis.change('products', 5);

    expect(await read(await key(), 'list v5')).toBe('list v5');
    expect(await read(await key(), 'x')).toBe('list v5');
    expect(client.stats()).toMatchObject({ localHits: 1, misses: 2 });
  });

  it('any announcement drops a tagged entry: it does not say which tags it purged', async () => {
    await read('c:1', 'cat', ['category:1'], ['categories']);

    // A product change whose purge took category:1's entries, categories not bumped.
    redis.change('products', 5, ['c:1']);

    expect(client.localTier()?.entries).toBe(0);
    expect(await read('c:1', 'fresh', ['category:1'], ['categories'])).toBe('fresh');
  });

  it('a fill whose tagged value was read before an announcement is not kept', async () => {
    let release: () => void = () => undefined;
    const pending = client.remember(
      'c:1',
      { ttl: 10, tags: ['category:1'], types: ['categories'] },
      () => new Promise<string>((resolve) => (release = () => resolve('old'))),
    );
    await flush();
    redis.change('products', 5, ['c:1']);
    release();

    expect(await pending).toBe('old');
    expect(client.localTier()?.entries).toBe(0);
  });

  it('a bump whose announcement was lost is seen at the next version read', async () => {
    await read('p:1', 'one');
    redis.version('products', 5);
    now += 50;

    // From Redis (which still holds it, untagged), not from process memory, and not kept.
    expect(await read('p:1', 'x')).toBe('one');
    expect(client.stats()).toMatchObject({ localHits: 0, hits: 1 });
    expect(client.localTier()?.entries).toBe(0);
  });

  it('a lost subscription drops every entry and bypasses the tier until it is back', async () => {
    await read('p:1', 'one');
    await read('p:2', 'two');

    redis.subscriber?.emit('close');
    expect(client.localTier()).toEqual({ entries: 0, bytes: 0, listening: false });
    expect(await read('p:1', 'x')).toBe('one');
    expect(await read('p:1', 'x')).toBe('one');
    // From Redis both times: nothing kept while it cannot hear announcements.
    expect(client.stats()).toMatchObject({ localHits: 0, hits: 2 });
    expect(client.localTier()?.entries).toBe(0);

    // Reconnected: back once its SUBSCRIBE is answered.
    redis.subscriber?.emit('ready');
    await flush();
    expect(client.localTier()?.listening).toBe(true);
    await read('p:1', 'x');
    await read('p:1', 'x');
    expect(client.stats()).toMatchObject({ localHits: 1, hits: 3 });
  });

  it('without the option there is no tier, and remember({ local: false }) skips it', async () => {
    const plain = await CacheClient.connect({ redis: redis as unknown as Redis });
    expect(plain.localTier()).toBeUndefined();

    await client.remember('p:9', { ttl: 10, local: false }, async () => 'nine');
    await client.remember('p:9', { ttl: 10, local: false }, async () => 'x');
    expect(client.stats()).toMatchObject({ localHits: 0, hits: 1 });
    expect(client.localTier()?.entries).toBe(0);
  });
});
