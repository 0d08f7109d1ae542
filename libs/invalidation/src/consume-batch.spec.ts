import { RejectedRowError, StaleFenceError } from '@invalidator/versioning';
import {
  FakeStores,
  SAGA_STEPS,
  fakeConfig,
  productUpdated,
} from '../../../test/support/saga-fakes';
import { mergeBatches } from './batch-coalescer';
import { ConsumeBatch } from './consume-batch';
import { BatchAbandonedError, OffsetCommitError, StoreRefusedError } from './saga-errors';

/** MySQL refusing the row (the repository's typed error): the message's own fault. */
const dataError = () =>
  new RejectedRowError(Object.assign(new Error('trigger refused the row'), { errno: 1644 }));
/** The world's fault: retried, never dead-lettered. */
const storeError = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

/** The order of a batch with an invalid message, start to commit. */
const ORDER = ['dead-letter 1', ...SAGA_STEPS, 'commit-offsets'];

// Every case with each batch checked on the main thread, and on the check thread (a worker).
describe.each([
  ['main', '0'],
  ['check', '1'],
])(`${ConsumeBatch.name}, batches checked on the %s thread`, (thread, minMessages) => {
  let stores: FakeStores;
  let sut: ConsumeBatch;

  beforeEach(() => {
    stores = new FakeStores();
    const config = fakeConfig({ CHECK_THREAD_MIN_MESSAGES: minMessages });
    sut = new ConsumeBatch(config, stores.saga(config), stores.deadLetters, stores.telemetry);
  });

  afterEach(async () => {
    await sut.onModuleDestroy();
    // Each batch's check counted on the thread it ran on, none on the other.
    expect(stores.checks.every((t) => t === thread)).toBe(true);
  });

  it('runs the order: dead letters, lock, transaction, publish, purge, announce, release, commit, then reports', async () => {
    await sut.execute(stores.batch(['not json', productUpdated(), productUpdated('2')]));

    expect(stores.journal).toEqual(ORDER);
    expect(stores.reports).toEqual([
      { after: ORDER, applied: 2, events: 2, deadLettered: ['not_json'] },
    ]);
    expect(stores.failures).toEqual([]);
  });

  it('a merged saga takes each part as prepare checked it when queued, and applies an event id found in two parts once', async () => {
    const repeated = productUpdated('1');
    const first = stores.batch([repeated, 'not json']);
    const second = stores.batch([repeated, productUpdated('2')]);
    sut.prepare(first);
    sut.prepare(second);
    // Checked already: the saga does not parse the bytes again (now blanks: not JSON).
    first.messages[0].value?.fill(0x20);

    await sut.execute(mergeBatches([first, second]));

    expect(stores.reports).toEqual([
      { after: [...ORDER, 'commit-offsets'], applied: 2, events: 2, deadLettered: ['not_json'] },
    ]);
  });

  it('a dead letter that cannot go out holds everything back: no saga, no commit, until it is out', async () => {
    let failures = 2;
    stores.failDeadLetters = () => (failures-- > 0 ? storeError() : undefined);

    await sut.execute(stores.batch(['not json', productUpdated()]));

    expect(stores.journal).toEqual(ORDER);
  });

  it('a lost race (a stale fence) is retried, never dead-lettered, and the batch applied once', async () => {
    let lost = true;
    stores.failBump = () =>
      lost ? ((lost = false), new StaleFenceError('products', '7')) : undefined;

    await sut.execute(stores.batch([productUpdated()]));

    expect(stores.letters).toEqual([]);
    expect(stores.bumps).toHaveLength(2);
    expect(stores.reports.map((r) => r.applied)).toEqual([1]);
    expect(stores.journal.filter((s) => s === 'commit-offsets')).toHaveLength(1);
  });

  it('the Redis lock unavailable: the row-lock fallback, then the commit', async () => {
    stores.lockUnavailable = true;

    await sut.execute(stores.batch([productUpdated()]));

    // The saga's steps without a lock to release (InvalidationSaga's spec), then the commit.
    expect(stores.journal.slice(0, 2)).toEqual(['lock', 'commit-tx']);
    expect(stores.journal.slice(-2)).toEqual(['announce', 'commit-offsets']);
    expect(stores.journal).not.toContain('release');
  });

  it('a saga that fails after the transaction releases its lock and commits nothing until a retry passes', async () => {
    let failures = 1;
    stores.failPurge = () => (failures-- > 0 ? new Error('redis away') : undefined);

    await sut.execute(stores.batch([productUpdated()]));

    const commit = stores.journal.indexOf('commit-offsets');
    expect(stores.journal.slice(0, 4)).toEqual(['lock', 'commit-tx', 'publish', 'release']);
    expect(commit).toBe(stores.journal.length - 1);
    expect(stores.journal.filter((s) => s === 'commit-offsets')).toHaveLength(1);
  });

  it('a failed commit is reported and thrown as OffsetCommitError, the batch unreported as done', async () => {
    stores.failCommit = () => new Error('coordinator moved');

    await expect(sut.execute(stores.batch([productUpdated()]))).rejects.toBeInstanceOf(
      OffsetCommitError,
    );

    expect(stores.failures.map((e) => (e as Error).name)).toEqual(['OffsetCommitError']);
    expect(stores.reports).toEqual([]);
  });

  it('isolates a poison event: only it is dead-lettered, the others of its batch are applied', async () => {
    const poison = productUpdated('13');
    const good = [productUpdated('1'), productUpdated('2')];
    stores.failBump = (request) =>
      request.events.some((e) => e.eventId === poison.eventId) ? dataError() : undefined;

    await sut.execute(stores.batch([good[0], poison, good[1]]));

    expect(stores.letters).toHaveLength(1);
    expect(stores.letters[0].kind).toBe('poison');
    expect(stores.letters[0].message.offset).toBe('1');
    expect([...stores.audit.keys()]).toEqual(good.map((g) => g.eventId));
    expect(stores.journal.at(-1)).toBe('commit-offsets');
  });

  it('finds a poison event among many by bisection, and dead-letters it before any later event is applied', async () => {
    const events = Array.from({ length: 64 }, (_, i) => productUpdated(String(i + 1)));
    const poison = events[40];
    let firstLaterBump = -1;
    stores.failBump = (request) => {
      if (request.events.some((e) => e.eventId === poison.eventId)) return dataError();
      if (firstLaterBump < 0 && request.events.some((e) => Number(e.offset) > 40))
        firstLaterBump = stores.journal.length;
      return undefined;
    };

    await sut.execute(stores.batch(events));

    expect(stores.letters.map((l) => l.message.offset)).toEqual(['40']);
    // 3 whole-batch attempts, then about 2 log2(64) halves and the poison alone: not 64 sagas.
    expect(stores.bumps.length).toBeLessThan(20);
    // Its letter is out before the first saga that applies an event past it.
    expect(stores.journal.indexOf('dead-letter 1')).toBeGreaterThan(-1);
    expect(stores.journal.indexOf('dead-letter 1')).toBeLessThan(firstLaterBump);
    expect([...stores.audit.keys()].sort()).toEqual(
      events
        .filter((e) => e !== poison)
        .map((e) => e.eventId)
        .sort(),
    );
  });

  it('spends the retry budget on the whole batch before searching it: three data-error attempts, then one by one', async () => {
    const poison = productUpdated('13');
    const good = productUpdated('1');
    stores.failBump = (request) =>
      request.events.some((e) => e.eventId === poison.eventId) ? dataError() : undefined;

    await sut.execute(stores.batch([good, poison]));

    const sizes = stores.bumps.map((b) => b.events.length);
    // 3 whole-batch attempts; the good event alone, the poison twice alone, the store's trial
    // of its write under a fresh id; then the batch without the poison (its good event already
    // applied: a duplicate, not bumped twice).
    expect(sizes).toEqual([2, 2, 2, 1, 1, 1, 1, 1]);
  });

  it('a store that refuses every write is not poison: nothing dead-lettered, retried through the breaker until it takes writes', async () => {
    const events = Array.from({ length: 8 }, (_, i) => productUpdated(String(i + 1)));
    let frozenFor = 40;
    // Every write refused, whatever its events (a trigger freezing writes), for 40 transactions.
    stores.failBump = () => (frozenFor-- > 0 ? dataError() : undefined);

    await sut.execute(stores.batch(events));

    expect(stores.letters).toEqual([]);
    expect([...stores.audit.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(stores.breakerErrors.some((e) => e instanceof StoreRefusedError)).toBe(true);
    expect(stores.journal.filter((s) => s === 'commit-offsets')).toHaveLength(1);
  });

  it('a poison event alone in its batch is still dead-lettered: the store takes the same write under a fresh id', async () => {
    const poison = productUpdated('13');
    stores.failBump = (request) =>
      request.events.some((e) => e.eventId === poison.eventId) ? dataError() : undefined;

    await sut.execute(stores.batch([poison]));

    expect(stores.letters.map((l) => l.kind)).toEqual(['poison']);
    expect(stores.audit.size).toBe(0);
    expect(stores.breakerErrors.some((e) => e instanceof StoreRefusedError)).toBe(false);
    expect(stores.journal.at(-1)).toBe('commit-offsets');
  });

  it('never dead-letters for a store outage: retried with back-off until it passes', async () => {
    let failures = 5;
    stores.failBump = () => (failures-- > 0 ? storeError() : undefined);

    await sut.execute(stores.batch([productUpdated()]));

    expect(stores.letters).toEqual([]);
    expect(stores.bumps).toHaveLength(6);
    expect(stores.journal.filter((s) => s === 'commit-offsets')).toHaveLength(1);
  });

  it('never commits a batch taken away once its saga has run: a rebalance gave it to another member', async () => {
    const batch = stores.batch([productUpdated()]);
    stores.failPurge = () => void (batch.active = false);

    await expect(sut.execute(batch)).rejects.toBeInstanceOf(BatchAbandonedError);

    expect(stores.journal).toContain('release');
    expect(stores.journal).not.toContain('commit-offsets');
  });

  it('never commits a batch taken away during a retry', async () => {
    const batch = stores.batch([productUpdated()]);
    stores.failBump = () => {
      batch.active = false;
      return storeError();
    };

    await expect(sut.execute(batch)).rejects.toBeInstanceOf(BatchAbandonedError);

    expect(stores.journal).not.toContain('commit-offsets');
    expect(stores.failures.map((e) => (e as Error).name)).toEqual(['BatchAbandonedError']);
    expect(stores.reports).toEqual([]);
  });
});

describe(`${ConsumeBatch.name}, the check thread gone`, () => {
  it('a batch the thread lost is checked on the main thread and applied whole; the loss is reported', async () => {
    const stores = new FakeStores();
    const config = fakeConfig({ CHECK_THREAD_MIN_MESSAGES: '1' });
    const sut = new ConsumeBatch(config, stores.saga(config), stores.deadLetters, stores.telemetry);
    // 20,000 events take the thread far longer than terminating it does.
    const events = Array.from({ length: 20000 }, (_, i) => productUpdated(String(i)));
    const batch = stores.batch(events);
    sut.prepare(batch);
    await sut.onModuleDestroy();

    await sut.execute(batch);

    expect(stores.checks).toEqual(['main']);
    expect(stores.failures.map((e) => (e as Error).message)).toEqual([
      expect.stringMatching(/the check thread exited/),
    ]);
    expect(stores.reports).toEqual([
      expect.objectContaining({ applied: 20000, events: 20000, deadLettered: [] }),
    ]);
    expect(stores.journal).toContain('commit-offsets');
  });
});
