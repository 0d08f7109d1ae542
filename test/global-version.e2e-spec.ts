import { DataSource } from 'typeorm';
import {
  BumpResult,
  StaleFenceError,
  VersionRepository,
  globalVersionString,
} from '@invalidator/versioning';
import { waitFor } from './support/test-env';
import { migratedDataSource } from './support/versioning-db';
import { World } from './support/world';

// Each event on a partition of its own: independent events, never one another's redelivery
// (the offset ledger skips an offset below its partition's next one).
let partitions = 0;
const entry = (eventId: string, dataTypes: string[]) => ({
  eventId,
  topic: 't',
  partition: partitions++,
  offset: '0',
  dataTypes,
});

describe('the global version string against concurrent bumps on a real MariaDB', () => {
  let world: World;
  let dataSource: DataSource;
  let repository: VersionRepository;

  beforeAll(async () => {
    world = await World.create('globalstr', 1);
    dataSource = await migratedDataSource(world.env.mysqlUrl);
    repository = new VersionRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await world?.close();
  });

  /** Statements of this test's database blocked in a locking read (B holds its locks idle). */
  const lockWaits = async () => {
    const [row] = await world.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM information_schema.processlist
       WHERE db = ? AND id <> CONNECTION_ID() AND info LIKE '%shop_data_versions%FOR UPDATE%'`,
      [world.env.database],
    );
    return Number(row.n);
  };

  it('inertia.data.version always matches the committed rows, even when a bump of another type commits after the transaction’s snapshot opened', async () => {
    // B: a fallback-path bump of products, held open just before its COMMIT.
    let releaseB!: () => void;
    const gate = new Promise<void>((resolve) => (releaseB = resolve));
    let bHolds!: () => void;
    const bHolding = new Promise<void>((resolve) => (bHolds = resolve));
    const b = repository.bumpVersions({
      events: [entry('22222222-0000-4000-8000-000000000001', ['products', 'global'])],
      fenceToken: 100n,
      actor: 'fallback',
      lockWaitTimeoutMs: 20000,
      beforeCommit: async () => {
        bHolds();
        await gate;
      },
    });
    await bHolding;

    // A: a lock-path bump of categories; its first read (the inbox) opens its snapshot now,
    // before B commits, and then it waits for B's row locks.
    const a: Promise<BumpResult> = repository.bumpVersions({
      events: [entry('22222222-0000-4000-8000-000000000002', ['categories', 'global'])],
      fenceToken: 101n,
      actor: 'lock',
      lockWaitTimeoutMs: 20000,
    });
    await waitFor('A to wait for B’s row locks', async () => (await lockWaits()) > 0, 20000, 50);
    releaseB();
    await b;
    const result = await a;

    const committed = await repository.readAll();
    expect(committed.map((r) => [r.dataType, Number(r.version)])).toEqual([
      ['categories', 1],
      ['global', 2],
      ['products', 1],
    ]);
    expect(result.current.map((r) => [r.dataType, Number(r.version), r.hash])).toEqual(
      committed.map((r) => [r.dataType, Number(r.version), r.hash]),
    );
    expect(globalVersionString(result.current)).toBe(globalVersionString(committed));
  });

  it('concurrent bumps of different types each return the rows as committed at their global version', async () => {
    const typeSets = [['products'], ['categories'], ['categories', 'products'], ['brands']];
    // Tokens are drawn per attempt, as the saga does; a lost race (stale token) is retried.
    let nextToken = 200n;
    const bumpWithRetry = async (eventId: string, dataTypes: string[], actor: string) => {
      for (;;) {
        try {
          return await repository.bumpVersions({
            events: [entry(eventId, dataTypes)],
            fenceToken: nextToken++,
            actor,
            lockWaitTimeoutMs: 20000,
          });
        } catch (error) {
          if (!(error instanceof StaleFenceError)) throw error;
        }
      }
    };
    // Every type has its row before the race (a new type's row appears at version 0).
    await bumpWithRetry('33333333-0000-4000-8000-100000000000', ['brands', 'global'], 'lock');
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        bumpWithRetry(
          `33333333-0000-4000-8000-${String(i).padStart(12, '0')}`,
          [...typeSets[i % typeSets.length], 'global'],
          i % 2 === 0 ? 'lock' : 'fallback',
        ),
      ),
    );
    // Replay the audit in commit order (one fence token per transaction): the rows as each
    // global version saw them.
    const snapshots = new Map<number, Map<string, number>>();
    const replay = new Map<string, number>();
    const audit = await world.audit();
    for (const [i, row] of audit.entries()) {
      replay.set(row.data_type, Number(row.new_version));
      if (audit[i + 1]?.fence_token === row.fence_token) continue;
      snapshots.set(replay.get('global') ?? 0, new Map(replay));
    }
    for (const result of results) {
      const global = Number(result.current.find((r) => r.dataType === 'global')?.version);
      const expected = [...(snapshots.get(global) ?? new Map<string, number>())].map(
        ([dataType, version]) => ({ dataType, version: BigInt(version) }),
      );
      expect(globalVersionString(result.current)).toBe(globalVersionString(expected));
    }
  });
});
