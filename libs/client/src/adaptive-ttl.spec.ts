import { AdaptiveTtl } from './adaptive-ttl';

describe(AdaptiveTtl.name, () => {
  let now = 0;
  const sut = () =>
    new AdaptiveTtl({ minTtl: 5, maxTtl: 600, windowMs: 60000, maxKeys: 2 }, () => now);

  beforeEach(() => (now = 1000));

  it('gives a key read often a longer TTL than one read once, within the bounds', () => {
    const ttl = sut();
    ttl.touch('cold');
    for (let i = 0; i < 15; i++) ttl.touch('hot');

    expect(ttl.ttlFor('cold', 60)).toBe(60);
    expect(ttl.ttlFor('hot', 60)).toBe(Math.round(60 * (1 + Math.log2(15))));
    for (let i = 0; i < 1000; i++) ttl.touch('hot');
    expect(ttl.ttlFor('hot', 60)).toBe(600);
    expect(ttl.ttlFor('never-read', 1)).toBe(5);
  });

  it('forgets reads older than its window', () => {
    const ttl = sut();
    for (let i = 0; i < 15; i++) ttl.touch('hot');
    now += 60001;

    expect(ttl.ttlFor('hot', 60)).toBe(60);
  });

  it('tracks a bounded number of keys, dropping the least recently read', () => {
    const ttl = sut();
    ttl.touch('a');
    ttl.touch('b');
    ttl.touch('a');
    ttl.touch('c');

    expect(ttl.ttlFor('b', 60)).toBe(60);
    expect(ttl.ttlFor('a', 60)).toBe(120);
  });
});
