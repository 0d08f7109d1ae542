import { DataSource } from 'typeorm';
import { StaleFenceError, VersionRepository } from '@invalidator/versioning';
import { migratedDataSource } from './support/versioning-db';
import { World } from './support/world';

/** Each test event at its own offset of partition 0: the offset is the id's last digits. */
const entry = (eventId: string, dataTypes = ['products', 'global']) => ({
  eventId,
  topic: 't',
  partition: 0,
  offset: String(Number(eventId.slice(-12))),
  dataTypes,
});

describe('VersionRepository against a real MariaDB', () => {
  let world: World;
  let dataSource: DataSource;
  let repository: VersionRepository;

  beforeAll(async () => {
    world = await World.create('repo', 1);
    dataSource = await migratedDataSource(world.env.mysqlUrl);
    repository = new VersionRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await world?.close();
  });

  const bump = (eventId: string, fenceToken: bigint) =>
    repository.bumpVersions({
      events: [entry(eventId)],
      fenceToken,
      actor: 'test',
      lockWaitTimeoutMs: 2000,
    });

  it('a stale fencing token is refused by the version update and nothing of it is committed', async () => {
    await bump('00000000-0000-4000-8000-000000000001', 10n);
    const before = await world.versions();

    await expect(bump('00000000-0000-4000-8000-000000000002', 9n)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    await expect(bump('00000000-0000-4000-8000-000000000003', 10n)).rejects.toBeInstanceOf(
      StaleFenceError,
    );

    expect(await world.versions()).toEqual(before);
    expect(await world.inboxCount(['00000000-0000-4000-8000-000000000002'])).toBe(0);
    const [row] = await world.query<{ fence_token: string }>(
      "SELECT fence_token FROM shop_data_versions WHERE data_type = 'products'",
    );
    expect(row.fence_token).toBe('10');
    await bump('00000000-0000-4000-8000-000000000004', 11n);
    expect((await world.versions()).products).toBe(before.products + 1);
  });

  it('bumps by exactly one with a new hash, a microsecond timestamp and an audit row per type', async () => {
    const before = await world.versions();
    const result = await bump('00000000-0000-4000-8000-000000000005', 12n);
    expect(result.appliedEventIds).toEqual(['00000000-0000-4000-8000-000000000005']);
    expect(await world.versions()).toMatchObject({
      global: before.global + 1,
      products: before.products + 1,
    });
    const [row] = await world.query<{ updated_at: string }>(
      "SELECT DATE_FORMAT(updated_at, '%f') AS updated_at FROM shop_data_versions WHERE data_type = 'products'",
    );
    expect(row.updated_at).toMatch(/^\d{6}$/);
    const audit = (await world.audit()).filter((a) => a.fence_token === '12');
    expect(audit.map((a) => [a.data_type, Number(a.old_version), Number(a.new_version)])).toEqual([
      ['global', before.global, before.global + 1],
      ['products', before.products, before.products + 1],
    ]);
  });

  it('an event redelivered (its offset already applied) is never bumped again', async () => {
    const before = await world.versions();
    const again = await bump('00000000-0000-4000-8000-000000000005', 13n);
    expect(again.appliedEventIds).toEqual([]);
    expect(await world.versions()).toEqual(before);
    // An older offset below the partition's next one, redelivered: the ledger names it there.
    const older = await bump('00000000-0000-4000-8000-000000000004', 13n);
    expect(older.appliedEventIds).toEqual([]);
    expect(await world.versions()).toEqual(before);
  });

  it('the ledger moves each partition on in the bump transaction: one row per partition, events packed', async () => {
    const [{ next_offset: before }] = await world.query<{ next_offset: string }>(
      "SELECT next_offset FROM partition_offsets WHERE topic = 't' AND `partition` = 0",
    );
    const ids = [11, 12, 13].map((n) => `00000000-0000-4000-8000-0000000000${n}`);
    const result = await repository.bumpVersions({
      events: [
        ...ids.map((id) => entry(id)),
        { ...entry('00000000-0000-4000-8000-000000000014'), partition: 1, offset: '40' },
      ],
      fenceToken: 20n,
      actor: 'test',
      lockWaitTimeoutMs: 2000,
    });
    expect(result.appliedEventIds).toHaveLength(4);
    const ledger = await world.query<{ partition: number; next_offset: string }>(
      "SELECT `partition`, next_offset FROM partition_offsets WHERE topic = 't' ORDER BY `partition`",
    );
    expect(ledger.map((r) => [r.partition, r.next_offset])).toEqual([
      [0, '14'],
      [1, '41'],
    ]);
    expect(Number(before)).toBe(6);
    const batches = await world.query<{
      partition: number;
      first_offset: string;
      event_count: number;
    }>(
      'SELECT `partition`, first_offset, event_count FROM applied_batches WHERE fence_token = 20 ORDER BY `partition`',
    );
    expect(batches.map((b) => [b.partition, b.first_offset, b.event_count])).toEqual([
      [0, '11', 3],
      [1, '40', 1],
    ]);
    const applied = (await world.appliedEvents()).filter((e) => e.topic === 't');
    expect(applied.slice(-4).map((e) => [e.eventId, e.partition, Number(e.offset)])).toEqual([
      [ids[0], 0, 11],
      [ids[1], 0, 12],
      [ids[2], 0, 13],
      ['00000000-0000-4000-8000-000000000014', 1, 40],
    ]);
  });

  it('a failure in beforeCommit rolls the whole transaction back', async () => {
    const before = await world.versions();
    await expect(
      repository.bumpVersions({
        events: [entry('00000000-0000-4000-8000-000000000020')],
        fenceToken: 21n,
        actor: 'test',
        lockWaitTimeoutMs: 2000,
        beforeCommit: async () => {
          throw new Error('lock lost');
        },
      }),
    ).rejects.toThrow('lock lost');
    expect(await world.versions()).toEqual(before);
    expect(await world.inboxCount(['00000000-0000-4000-8000-000000000020'])).toBe(0);
  });

  it('hands its connection back to the pool in autocommit, after a commit and after a rollback', async () => {
    // One pooled connection: the one the bumps ran on is the one asked afterwards.
    const single = await migratedDataSource(world.env.mysqlUrl, 1);
    try {
      const onItsPool = new VersionRepository(single);
      const autocommit = async () =>
        Number((await single.query<{ a: number }[]>('SELECT @@autocommit AS a'))[0].a);
      const request = (eventId: string, fenceToken: bigint) => ({
        events: [entry(eventId)],
        fenceToken,
        actor: 'test',
        lockWaitTimeoutMs: 2000,
      });
      const before = await world.versions();
      await onItsPool.bumpVersions(request('00000000-0000-4000-8000-000000000040', 40n));
      expect(await autocommit()).toBe(1);
      // Committed: another connection sees it.
      expect((await world.versions()).products).toBe(before.products + 1);
      await expect(
        onItsPool.bumpVersions({
          ...request('00000000-0000-4000-8000-000000000041', 41n),
          beforeCommit: () => Promise.reject(new Error('lock lost')),
        }),
      ).rejects.toThrow('lock lost');
      expect(await autocommit()).toBe(1);
      expect((await world.versions()).products).toBe(before.products + 1);
    } finally {
      await single.destroy();
    }
  });

  it('the schema itself refuses two bumps of a type with the same version or hash', async () => {
    const [last] = await world.query<{ new_version: string; new_hash: string }>(
      "SELECT new_version, new_hash FROM version_audit WHERE data_type = 'products' ORDER BY id DESC LIMIT 1",
    );
    const insert = (version: string, hash: string) =>
      world.sql.query(
        `INSERT INTO version_audit (data_type, old_version, new_version, new_hash, fence_token, actor, event_ids, created_at)
         VALUES ('products', 0, ?, ?, 0, 'test', '[]', NOW(6))`,
        [version, hash],
      );
    await expect(insert(last.new_version, 'f'.repeat(64))).rejects.toThrow(/Duplicate/);
    await expect(insert('999999', last.new_hash)).rejects.toThrow(/Duplicate/);
  });

  it('below the ledger mark, only the event it applied at that offset is a duplicate; any other is a regression, applied, and the mark follows it', async () => {
    const at = (eventId: string, offset: number) => ({
      eventId,
      topic: 'regress',
      partition: 0,
      offset: String(offset),
      dataTypes: ['products', 'global'],
    });
    const bumpAt = (events: ReturnType<typeof at>[], fenceToken: bigint) =>
      repository.bumpVersions({ events, fenceToken, actor: 'test', lockWaitTimeoutMs: 2000 });
    const id = (n: number) => `00000000-0000-4000-8000-0000000005${String(n).padStart(2, '0')}`;
    // The old log: offsets 10..14 applied, the mark at 15.
    await bumpAt(
      [10, 11, 12, 13, 14].map((o) => at(id(o), o)),
      100n,
    );
    const mark = async () =>
      (
        await world.query<{ next_offset: string }>(
          "SELECT next_offset FROM partition_offsets WHERE topic = 'regress'",
        )
      )[0].next_offset;
    expect(await mark()).toBe('15');

    // A redelivery of 11 and 12: the same ids at the same offsets.
    const redelivery = await bumpAt([at(id(11), 11), at(id(12), 12)], 101n);
    expect(redelivery.appliedEventIds).toEqual([]);
    expect(redelivery.offsetRegressions).toEqual([]);
    expect(await mark()).toBe('15');

    // A new log from 0: new ids below the mark, and a known id at another offset.
    const fresh = await bumpAt([at(id(90), 0), at(id(91), 1), at(id(10), 2)], 102n);
    expect(fresh.appliedEventIds).toEqual([id(90), id(91), id(10)]);
    expect(fresh.offsetRegressions).toEqual([
      { topic: 'regress', partition: 0, ledgerNextOffset: '15', firstOffset: '0', events: 3 },
    ]);
    expect(await mark()).toBe('3');

    // The new log redelivered: duplicates, though old batches cover the same offsets too.
    const again = await bumpAt([at(id(90), 0), at(id(91), 1)], 103n);
    expect(again.appliedEventIds).toEqual([]);
    expect(again.offsetRegressions).toEqual([]);
  });
});
