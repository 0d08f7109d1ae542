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
});
