import { randomUUID } from 'node:crypto';
import { runCli } from './support/cli-process';
import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { World } from './support/world';

/** Rows of each retained table older than their window, and younger ones that must stay. */
async function seed(world: World, old: number) {
  const rows = (n: number, sql: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => sql(i)).join(', ');
  await world.sql.query(
    `INSERT INTO applied_batches (topic, \`partition\`, first_offset, next_offset, event_count, event_ids, fence_token, applied_at)
     VALUES ${rows(old, () => "('old', 0, 0, 1, 1, RANDOM_BYTES(20), 0, NOW(6) - INTERVAL 2 HOUR)")},
            ('young', 0, 0, 1, 1, RANDOM_BYTES(20), 0, NOW(6) - INTERVAL 30 MINUTE)`,
  );
  await world.sql.query(
    `INSERT INTO processed_events (event_id, topic, \`partition\`, \`offset\`, processed_at)
     VALUES ${rows(old, (i) => `('${randomUUID()}', 'old-${i}', -1, 0, NOW(6) - INTERVAL 2 HOUR)`)},
            ('${randomUUID()}', 'young', -1, 0, NOW(6) - INTERVAL 30 MINUTE)`,
  );
  await world.sql.query(
    `INSERT INTO version_audit (data_type, old_version, new_version, new_hash, fence_token, actor, event_ids, created_at)
     VALUES ${rows(old, (i) => `('old', ${i}, ${i + 1}, SHA2('old${i}', 256), 0, 'seed', '[]', NOW(6) - INTERVAL 2 DAY)`)},
            ('young', 0, 1, SHA2('young', 256), 0, 'seed', '[]', NOW(6) - INTERVAL 12 HOUR)`,
  );
  await world.sql.query(
    `INSERT INTO incidents (kind, severity, message, corrective_action, details, instance, created_at)
     VALUES ${rows(old, () => "('old', 'INFO', 'm', 'c', '{}', 'seed', NOW(6) - INTERVAL 2 DAY)")},
            ('young', 'INFO', 'm', 'c', '{}', 'seed', NOW(6) - INTERVAL 12 HOUR)`,
  );
}

describe('retention and the applied-event lookup', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('retention');
    // Retention off (an hour between runs) while the rows are seeded; a second instance of
    // the service, with a short interval and small chunks, prunes them below.
    service = await ServiceProcess.start(world.env, { RETENTION_INTERVAL_MS: '3600000' });
  }, 90000);

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('prunes rows past each window in small chunks while events keep being applied', async () => {
    const old = 400;
    await seed(world, old);
    await service.stop();
    service = await ServiceProcess.start(world.env, {
      INBOX_RETENTION_HOURS: '1',
      AUDIT_RETENTION_DAYS: '1',
      INCIDENT_RETENTION_DAYS: '1',
      RETENTION_INTERVAL_MS: '200',
      RETENTION_CHUNK_ROWS: '25',
    });
    // Events flow during the prune: 16 chunks per table at least, 20 ms apart.
    const ids: string[] = [];
    for (let burst = 0; burst < 10; burst++) {
      const events = Array.from({ length: 50 }, (_, i) =>
        productUpdated({ productId: `r${burst}-${i}` }),
      );
      ids.push(...events.map((e) => e.eventId));
      await world.publish(events);
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor('the events applied', async () => (await world.inboxCount(ids)) === ids.length);
    await waitFor('the old rows pruned', async () => {
      const [row] = await world.query<{ n: number }>(
        `SELECT (SELECT COUNT(*) FROM applied_batches WHERE topic = 'old')
              + (SELECT COUNT(*) FROM processed_events WHERE topic LIKE 'old-%')
              + (SELECT COUNT(*) FROM version_audit WHERE data_type = 'old')
              + (SELECT COUNT(*) FROM incidents WHERE kind = 'old') AS n`,
      );
      return Number(row.n) === 0;
    });

    // Young rows (inside the window) and the service's own fresh rows stay.
    const [young] = await world.query<{
      batches: number;
      inbox: number;
      audit: number;
      incidents: number;
    }>(
      `SELECT (SELECT COUNT(*) FROM applied_batches WHERE topic = 'young') AS batches,
              (SELECT COUNT(*) FROM processed_events WHERE topic = 'young') AS inbox,
              (SELECT COUNT(*) FROM version_audit WHERE data_type = 'young') AS audit,
              (SELECT COUNT(*) FROM incidents WHERE kind = 'young') AS incidents`,
    );
    expect(Object.values(young).map(Number)).toEqual([1, 1, 1, 1]);
    expect(await world.inboxCount(ids)).toBe(ids.length);
    for (const table of ['applied_batches', 'processed_events', 'version_audit', 'incidents'])
      expect(await service.metric('invalidator_rows_pruned_total', { table })).toBe(old);
  });

  it('answers whether an event was applied, and when: a route and a CLI command', async () => {
    const event = productUpdated({ productId: 'looked-up' });
    await world.publish([event]);
    await waitFor('applied', async () => (await world.inboxCount([event.eventId])) === 1);

    const res = await fetch(`${service.url}/events/${event.eventId}`);
    const body = (await res.json()) as {
      applied: boolean;
      applications: { topic: string; offset: string; appliedAt: string }[];
    };
    expect(res.status).toBe(200);
    expect(body.applied).toBe(true);
    expect(body.applications).toHaveLength(1);
    expect(body.applications[0].topic).toBe(world.env.topics.product);
    expect(Date.now() - Date.parse(body.applications[0].appliedAt)).toBeLessThan(60000);

    const found = await runCli(world.env, ['event', event.eventId]);
    expect(found.code).toBe(0);
    expect(found.stdout).toContain(`${event.eventId}\tapplied `);
    expect(found.stdout).toContain(`${world.env.topics.product}[`);
    const missing = await runCli(world.env, ['event', randomUUID()]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('not applied');
    expect((await runCli(world.env, ['event', 'nope'])).code).toBe(2);
  });
});
