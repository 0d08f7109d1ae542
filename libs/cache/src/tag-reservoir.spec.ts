import { RedisClient } from '@invalidator/redis';
import { TAG_RESERVOIR_SIZE, TagReservoir } from './tag-reservoir';

/** A Redis that holds `tags` tag sets and answers SCAN in pages of 1000, counting the calls. */
function fakeRedis(tags: number) {
  const keys = Array.from({ length: tags }, (_, i) => `p:shop.tag.t${i}`);
  const fake = {
    scans: 0,
    options: { host: '127.0.0.1', port: 6379 },
    scan: async (cursor: string) => {
      fake.scans += 1;
      const from = Number(cursor);
      const next = from + 1000 >= keys.length ? '0' : String(from + 1000);
      return [next, keys.slice(from, from + 1000)];
    },
  };
  return fake;
}

describe(TagReservoir.name, () => {
  it('keeps at most TAG_RESERVOIR_SIZE tags and reads only the steps it is given', async () => {
    const redis = fakeRedis(200000);
    const sut = new TagReservoir(redis as unknown as RedisClient, 'p:');
    await sut.refill(8);
    expect(redis.scans).toBe(8);
    expect(sut.size).toBe(TAG_RESERVOIR_SIZE);
    await sut.refill(8);
    expect(redis.scans).toBe(16);
    expect(sut.size).toBe(TAG_RESERVOIR_SIZE);
  });

  it('renews its tags as the cursor walks on: later parts of the keyspace get drawn', async () => {
    const redis = fakeRedis(200000);
    const sut = new TagReservoir(redis as unknown as RedisClient, 'p:');
    for (let i = 0; i < 25; i++) await sut.refill(8);
    const drawn = new Set(
      Array.from({ length: 2000 }, () => Number(sut.draw()?.slice('shop.tag.t'.length))),
    );
    expect([...drawn].some((n) => n >= 100000)).toBe(true);
  });

  it('a small keyspace is read in one pass per refill, never twice over', async () => {
    const redis = fakeRedis(9);
    const sut = new TagReservoir(redis as unknown as RedisClient, 'p:');
    await sut.refill(Number.POSITIVE_INFINITY);
    expect(redis.scans).toBe(1);
    expect(sut.size).toBe(9);
    expect(sut.draw()).toMatch(/^shop\.tag\.t\d$/);
    for (let i = 0; i < 9; i++) sut.forget(`shop.tag.t${i}`);
    expect(sut.draw()).toBeUndefined();
  });
});
