import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { categoryUpdated, productUpdated } from './support/events';
import { AuditRow, World } from './support/world';

/** For one type: the audit rows form one unbroken chain old -> old + 1 from `from` to `to`. */
function expectUnbrokenChain(audit: AuditRow[], type: string, from: number, to: number) {
  const rows = audit
    .filter((a) => a.data_type === type)
    .map((a) => ({ old: Number(a.old_version), next: Number(a.new_version), hash: a.new_hash }))
    .sort((a, b) => a.next - b.next);
  expect(rows).toHaveLength(to - from);
  rows.forEach((row, i) => {
    expect(row.old).toBe(from + i);
    expect(row.next).toBe(from + i + 1);
  });
  expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);
}

describe('two instances in one consumer group', () => {
  let world: World;
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    world = await World.create('pair', 6);
    services = [await ServiceProcess.start(world.env), await ServiceProcess.start(world.env)];
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await world?.close();
  });

  it('2,000 events over 6 partitions: all processed once, versions strictly increasing, audit accounts for every bump', async () => {
    const before = await world.versions();
    const events = Array.from({ length: 2000 }, (_, i) =>
      i % 10 === 0
        ? categoryUpdated(`c${i % 13}`)
        : productUpdated({ productId: `p${i}`, categoryIds: [`c${i % 13}`] }),
    );
    await world.publish(events);
    const ids = events.map((e) => e.eventId);
    await waitFor(
      'all 2,000 events in the inbox',
      async () => (await world.inboxCount(ids)) === 2000,
      150000,
      500,
    );
    await waitFor('all offsets committed', async () => {
      const committed =
        (await world.committedOffsets(world.env.topics.product)) +
        (await world.committedOffsets(world.env.topics.category));
      return committed === 2000;
    });

    expect(await world.inboxCount()).toBe(2000);
    const audit = await world.audit();
    const after = await world.versions();
    for (const type of ['products', 'categories', 'global']) {
      expectUnbrokenChain(audit, type, before[type], after[type]);
    }
    const duplicates = await world.query(
      `SELECT data_type, new_version FROM version_audit GROUP BY data_type, new_version HAVING COUNT(*) > 1
       UNION ALL
       SELECT data_type, new_hash FROM version_audit GROUP BY data_type, new_hash HAVING COUNT(*) > 1`,
    );
    expect(duplicates).toEqual([]);
    // Every applied event is named once by the ledger, at one offset, under the fence token of
    // exactly one global bump (a saga's audit rows and applied_batches share its token).
    const applied = await world.appliedEvents();
    expect(applied.map((e) => e.eventId).sort()).toEqual([...ids].sort());
    const where = applied.map((e) => `${e.topic}/${e.partition}@${e.offset}`);
    expect(new Set(where).size).toBe(where.length);
    const globalTokens = new Set(
      audit.filter((a) => a.data_type === 'global').map((a) => a.fence_token),
    );
    const batchTokens = await world.query<{ fence_token: string }>(
      'SELECT DISTINCT fence_token FROM applied_batches',
    );
    for (const { fence_token } of batchTokens)
      expect(globalTokens.has(String(fence_token))).toBe(true);
    // Both instances did real work: the partitions were shared.
    for (const service of services) {
      expect(service.logLines('invalidation saga completed').length).toBeGreaterThan(0);
    }
  });
});
