import { manualBumpEventId } from '@invalidator/contracts';
import { FakeStores, fakeConfig } from '../../../test/support/saga-fakes';
import { ManualBump } from './manual-bump';
import { IdempotencyKeyReusedError } from './saga-errors';

describe(ManualBump.name, () => {
  let stores: FakeStores;
  let sut: ManualBump;

  beforeEach(() => {
    stores = new FakeStores();
    const config = fakeConfig();
    sut = new ManualBump(config, stores.saga(config), stores.repository, stores.telemetry);
  });

  it('bumps the types and global, and purges their tags', async () => {
    const result = await sut.execute({
      dataTypes: ['products'],
      actor: 'admin',
      idempotencyKey: 'k',
    });

    expect(result.versions.map((v) => [v.dataType, v.version])).toEqual([
      ['global', 1],
      ['products', 1],
    ]);
    expect(result.replayed).toBe(false);
    expect(stores.bumps[0].events.map((e) => e.dataTypes)).toEqual([['global', 'products']]);
  });

  it('an idempotency key replayed bumps nothing again and answers with the first outcome', async () => {
    const command = { dataTypes: ['products'], actor: 'admin', idempotencyKey: 'key-1' };
    const first = await sut.execute(command);
    await sut.execute({ dataTypes: ['categories'], actor: 'admin', idempotencyKey: 'key-0' });

    const again = await sut.execute(command);

    expect(again.replayed).toBe(true);
    expect(again.versions).toEqual(first.versions);
    expect(stores.bumps[2].events.map((e) => e.eventId)).toEqual([manualBumpEventId('key-1')]);
  });

  it('a failure after COMMIT is retried and bumps once: the retry finds the key applied', async () => {
    let failedOnce = false;
    stores.failPurge = () =>
      failedOnce ? undefined : ((failedOnce = true), new Error('redis away'));

    const result = await sut.execute({
      dataTypes: ['products'],
      actor: 'cli:me',
      idempotencyKey: 'key-2',
    });

    expect(stores.bumps).toHaveLength(2);
    expect(result.replayed).toBe(true);
    expect(result.versions.map((v) => [v.dataType, v.version])).toEqual([
      ['global', 1],
      ['products', 1],
    ]);
  });

  it('refuses a key already used for other data types', async () => {
    await sut.execute({ dataTypes: ['products'], actor: 'admin', idempotencyKey: 'key-3' });

    await expect(
      sut.execute({ dataTypes: ['categories'], actor: 'admin', idempotencyKey: 'key-3' }),
    ).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });
});
