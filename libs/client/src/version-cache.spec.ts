import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { VersionCache } from './version-cache';

/** A stand-in for ioredis: GET from a map, a duplicate that can subscribe and be sent messages. */
class FakeRedis extends EventEmitter {
  readonly values = new Map<string, string>();
  gets = 0;
  readonly options = { keyPrefix: 'shop1:' };
  subscribed: string[] = [];
  subscriber?: FakeRedis;

  async get(key: string): Promise<string | null> {
    this.gets += 1;
    return this.values.get(key) ?? null;
  }

  duplicate(): FakeRedis {
    this.subscriber = new FakeRedis();
    return this.subscriber;
  }

  async subscribe(channel: string): Promise<void> {
    this.subscribed.push(channel);
  }

  async quit(): Promise<void> {}

  version(type: string, version: number): void {
    this.values.set(`shop.version.${type}`, JSON.stringify({ version }));
  }
}

describe(VersionCache.name, () => {
  let redis: FakeRedis;
  let now: number;
  let sut: VersionCache;

  beforeEach(async () => {
    redis = new FakeRedis();
    now = 1000;
    sut = new VersionCache(redis as unknown as Redis, ['products', 'global'], 50, () => now);
    await sut.listen();
  });

  it('memoizes the versions for its interval, then reads Redis again', async () => {
    redis.version('products', 4);
    expect(await sut.of(['products'])).toEqual({ products: 4 });
    const reads = redis.gets;
    redis.version('products', 5);

    expect(await sut.of(['products'])).toEqual({ products: 4 });
    expect(redis.gets).toBe(reads);
    now += 50;
    expect(await sut.of(['products'])).toEqual({ products: 5 });
  });

  it('an announcement on the prefixed channel refreshes the memo at once and counts as announced', async () => {
    redis.version('products', 4);
    await sut.of(['products']);
    expect(redis.subscriber?.subscribed).toEqual(['shop1:shop.versions.changed']);

    redis.subscriber?.emit(
      'message',
      'shop1:shop.versions.changed',
      JSON.stringify({ versions: { products: 6, global: 9 }, global: '9.abc' }),
    );

    const snapshot = await sut.current();
    expect(snapshot.versions).toMatchObject({ products: 6, global: 9 });
    expect(snapshot.announced).toEqual({ products: 6, global: 9 });
    expect(snapshot.global).toBe('9.abc');
  });

  it('never goes backwards: a Redis read older than an announcement keeps the newer version', async () => {
    redis.subscriber?.emit(
      'message',
      'shop1:shop.versions.changed',
      JSON.stringify({ versions: { products: 8 } }),
    );
    redis.version('products', 7);
    now += 100;

    expect(await sut.of(['products'])).toEqual({ products: 8 });
  });

  it('a flood of distinct type names keeps at most maxTypes of them besides the configured ones', async () => {
    const bounded = new VersionCache(redis as unknown as Redis, ['products'], 50, () => now, 10);
    redis.version('products', 3);
    redis.version('flood-299', 7);
    for (let i = 0; i < 300; i++) await bounded.of([`flood-${i}`]);

    // The newest ten asked for are kept and answered; a forgotten one is read again on demand.
    expect(await bounded.of(['flood-299', 'products'])).toEqual({ 'flood-299': 7, products: 3 });
    expect(Object.keys((await bounded.current()).versions).sort()).toEqual(
      ['products', ...Array.from({ length: 10 }, (_, i) => `flood-${290 + i}`)].sort(),
    );
    now += 100;
    const reads = redis.gets;
    await bounded.current();
    // Eleven types and inertia.data.version.
    expect(redis.gets - reads).toBe(12);
    redis.version('flood-0', 4);
    expect(await bounded.of(['flood-0'])).toEqual({ 'flood-0': 4 });
  });

  it('tells a listener of each announcement, of a lost subscription once, and of its return once subscribed again', async () => {
    const heard: string[] = [];
    const told = new VersionCache(redis as unknown as Redis, ['products'], 50, () => now);
    await told.listen({
      announced: (versions) => heard.push(`announced ${JSON.stringify(versions)}`),
      lost: () => heard.push('lost'),
      back: () => heard.push('back'),
    });
    const subscriber = redis.subscriber as FakeRedis;
    redis.version('products', 4);
    await told.of(['products']);

    subscriber.emit('message', 'shop1:shop.versions.changed', '{"versions":{"products":5}}');
    subscriber.emit('message', 'shop1:shop.versions.changed', 'not json');
    subscriber.emit('ready');
    subscriber.emit('close');
    subscriber.emit('close');
    const reads = redis.gets;
    // The memo is read again after a loss: announcements may have been missed.
    await told.of(['products']);
    expect(redis.gets).toBeGreaterThan(reads);
    subscriber.emit('ready');
    await new Promise((resolve) => setImmediate(resolve));

    expect(heard).toEqual(['announced {"products":5}', 'announced undefined', 'lost', 'back']);
    expect(subscriber.subscribed).toEqual([
      'shop1:shop.versions.changed',
      'shop1:shop.versions.changed',
    ]);
  });

  it('an announcement of types it does not track adds none of them', async () => {
    redis.subscriber?.emit(
      'message',
      'shop1:shop.versions.changed',
      JSON.stringify({ versions: { products: 8, 'validate:run:1': 1, 'validate:run:2': 1 } }),
    );
    const snapshot = await sut.current();
    expect(snapshot.versions).toEqual({ products: 8 });
    expect(snapshot.announced).toEqual({ products: 8 });
  });
});
