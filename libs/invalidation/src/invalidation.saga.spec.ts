import { FakeStores, SAGA_STEPS } from '../../../test/support/saga-fakes';
import { InvalidationSaga } from './invalidation.saga';
import { SagaWork } from './saga-work';

const work = (): SagaWork => ({
  events: [
    { eventId: 'e1', topic: 't', partition: 0, offset: '0', dataTypes: ['global', 'products'] },
  ],
  dataTypes: ['global', 'products'],
  tags: ['products', 'product:1'],
  actor: 'consumer',
});

describe(InvalidationSaga.name, () => {
  let stores: FakeStores;
  let sut: InvalidationSaga;

  beforeEach(() => {
    stores = new FakeStores();
    sut = stores.saga();
  });

  it('runs lock, transaction, publish, purge, announce, release in that order: versions go out before the purge', async () => {
    const report = await sut.apply(work());

    expect(stores.journal).toEqual(SAGA_STEPS);
    expect(report.path).toBe('lock');
    expect([...report.appliedEventIds]).toEqual(['e1']);
  });

  it('releases the lock when a step after it fails', async () => {
    stores.failPurge = () => new Error('redis away');

    await expect(sut.apply(work())).rejects.toThrow('redis away');

    expect(stores.journal).toEqual(['lock', 'commit-tx', 'publish', 'release']);
  });

  it('takes the row-lock fallback when the Redis lock is unavailable: the same steps, no lock to release', async () => {
    stores.lockUnavailable = true;

    const report = await sut.apply(work());

    expect(report.path).toBe('fallback');
    expect(stores.journal).toEqual(['lock', 'commit-tx', 'publish', 'purge', 'announce']);
  });

  it('does nothing for work with nothing to bump', async () => {
    const report = await sut.apply({ ...work(), events: [], dataTypes: [], tags: [] });

    expect(report.appliedEventIds.size).toBe(0);
    expect(stores.journal).toEqual([]);
  });
});
