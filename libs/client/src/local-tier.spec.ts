import { LocalEntry, LocalTier } from './local-tier';

describe(LocalTier.name, () => {
  let now: number;
  /** The client's latest known versions (announcements included). */
  let known: Record<string, number>;
  const knownOf = (type: string) => known[type];

  beforeEach(() => {
    now = 1000;
    known = { products: 4, categories: 2, global: 9 };
  });

  const entry = (over: Partial<LocalEntry> = {}): LocalEntry => ({
    json: '"v"',
    bytes: 3,
    versions: { products: 4 },
    tagged: false,
    expiresAt: now + 60000,
    ...over,
  });
  const tier = (maxEntries = 100, maxBytes = 10000) =>
    new LocalTier({ maxEntries, maxBytes }, () => now);
  const ticketOf = (sut: LocalTier) => {
    const ticket = sut.ticket();
    if (!ticket) throw new Error('the tier is bypassed');
    return ticket;
  };
  const put = (sut: LocalTier, key: string, e: LocalEntry = entry()) =>
    sut.put(key, e, ticketOf(sut), knownOf);
  const keys = (sut: LocalTier) => ['a', 'b', 'c', 'd'].filter((k) => sut.peek(k) !== undefined);

  it('keeps at most maxEntries, dropping the least recently read', () => {
    const sut = tier(3);
    put(sut, 'a');
    put(sut, 'b');
    put(sut, 'c');
    expect(sut.get('a', known)).toBeDefined();
    put(sut, 'd');

    expect(keys(sut)).toEqual(['a', 'c', 'd']);
    expect(sut.state()).toEqual({ entries: 3, bytes: 9, listening: true });
  });

  it('keeps at most maxBytes of JSON, dropping the least recently read, and never a larger value', () => {
    const sut = tier(100, 10);
    put(sut, 'a', entry({ bytes: 4 }));
    put(sut, 'b', entry({ bytes: 4 }));
    sut.get('a', known);
    put(sut, 'c', entry({ bytes: 4 }));

    expect(keys(sut)).toEqual(['a', 'c']);
    expect(sut.state().bytes).toBe(8);
    expect(put(sut, 'd', entry({ bytes: 11 }))).toBe(false);
    expect(keys(sut)).toEqual(['a', 'c']);
    // Replacing an entry counts its bytes once.
    put(sut, 'a', entry({ bytes: 6 }));
    expect(sut.state()).toMatchObject({ entries: 2, bytes: 10 });
  });

  it('an entry is gone at its expiry (its Redis entry TTL), and an expired one is not kept', () => {
    const sut = tier();
    put(sut, 'a', entry({ expiresAt: now + 5000 }));
    now += 4999;
    expect(sut.get('a', known)).toBeDefined();
    now += 1;

    expect(sut.get('a', known)).toBeUndefined();
    expect(sut.state()).toMatchObject({ entries: 0, bytes: 0 });
    expect(put(sut, 'b', entry({ expiresAt: now }))).toBe(false);
  });

  it('a read finds an entry only under the versions it was filled under', () => {
    const sut = tier();
    put(sut, 'a');

    expect(sut.get('a', { products: 4 })?.json).toBe('"v"');
    expect(sut.get('a', { products: 5 })).toBeUndefined();
    expect(sut.state().entries).toBe(0);
  });

  it('an announcement drops the entries of a type it moves, and every tagged entry', () => {
    const sut = tier();
    put(sut, 'a', entry({ versions: { products: 4 } }));
    put(sut, 'b', entry({ versions: { categories: 2 } }));
    put(sut, 'c', entry({ versions: { categories: 2 }, tagged: true }));
    put(sut, 'd', entry({ versions: { products: 4, categories: 2 } }));

    // Its own version again (the change it was filled after) drops nothing untagged.
    sut.announced({ products: 4 });
    expect(keys(sut)).toEqual(['a', 'b', 'd']);
    sut.announced({ products: 5, global: 10 });
    expect(keys(sut)).toEqual(['b']);
    sut.announced(undefined);
    expect(keys(sut)).toEqual([]);
  });

  it('a value read or filled before a drop is not kept', () => {
    const sut = tier();
    const before = ticketOf(sut);
    sut.announced({ categories: 3 });
    known.categories = 3;

    // A tagged value: an announcement since its read may have purged its tag.
    expect(sut.put('a', entry({ tagged: true }), before, knownOf)).toBe(false);
    // An untagged one of a type announced newer than it.
    expect(sut.put('b', entry({ versions: { categories: 2 } }), before, knownOf)).toBe(false);
    // One of a type the client no longer tracks.
    expect(sut.put('c', entry({ versions: { gone: 1 } }), before, knownOf)).toBe(false);
    // An untagged one of other types is still what Redis holds.
    expect(sut.put('d', entry({ versions: { products: 4 } }), before, knownOf)).toBe(true);
    expect(keys(sut)).toEqual(['d']);
  });

  it('a lost subscription drops everything and bypasses the tier until it is back', () => {
    const sut = tier();
    put(sut, 'a');
    put(sut, 'b', entry({ tagged: true }));
    const before = ticketOf(sut);

    sut.lost();
    expect(sut.state()).toEqual({ entries: 0, bytes: 0, listening: false });
    expect(sut.ticket()).toBeUndefined();
    expect(sut.put('c', entry(), before, knownOf)).toBe(false);

    sut.back();
    // Read before the loss: what was announced meanwhile is not known.
    expect(sut.put('c', entry(), before, knownOf)).toBe(false);
    expect(put(sut, 'c')).toBe(true);
    expect(sut.state()).toEqual({ entries: 1, bytes: 3, listening: true });
  });

  it('refuses bounds below one', () => {
    expect(() => tier(0, 10)).toThrow(RangeError);
    expect(() => tier(10, 0)).toThrow(RangeError);
  });
});
