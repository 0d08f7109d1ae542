import { randomUUID } from 'node:crypto';
import { productUpdated } from '../support/events';
import { seedLedgerHistory } from '../support/ledger-history';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/test-env';
import { migratedDataSource } from '../support/versioning-db';
import { World } from '../support/world';

jest.setTimeout(300000);

const LOOKUPS = 40;
const EVENTS = 300;

/** Statements of the world's database that scan the ledger's packed ids, as the server sees them. */
async function runningLookups(world: World): Promise<string[]> {
  const rows = await world.query<{ db: string | null; info: string | null; command: string }>(
    'SELECT db, info, command FROM information_schema.processlist WHERE id <> CONNECTION_ID()',
  );
  return rows
    .filter((r) => r.db === world.env.database && r.command === 'Query')
    .map((r) => r.info ?? '')
    .filter((info) => info.includes('event_ids') && !info.includes('information_schema'));
}

describe('event lookups under load', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('lookup');
    await (await migratedDataSource(world.env.mysqlUrl)).destroy();
    // Ten minutes old: inside any lookup window, so every lookup of an unknown id scans it all.
    await seedLedgerHistory(world, 10_000_000, 600);
    service = await ServiceProcess.start(world.env);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('40 concurrent lookups of unknown ids never stall the consumer, nor outlive their request', async () => {
    const statuses = new Map<number | string, number>();
    let looking = true;
    const lookups = Array.from({ length: LOOKUPS }, async () => {
      while (looking) {
        try {
          // A client that gives up after 2 s, as a dashboard or a curl with --max-time would.
          const res = await fetch(`${service.url}/events/${randomUUID()}`, {
            signal: AbortSignal.timeout(2000),
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          await res.arrayBuffer();
        } catch {
          statuses.set('client timeout', (statuses.get('client timeout') ?? 0) + 1);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    await new Promise((r) => setTimeout(r, 1000));

    const started = Date.now();
    await world.publish(
      Array.from({ length: EVENTS }, (_, i) => productUpdated({ productId: `lk${i}` })),
    );
    let appliedIn: number | undefined;
    try {
      await waitFor(
        `all ${EVENTS} events applied`,
        async () => {
          const [row] = await world.query<{ n: string | null }>(
            'SELECT SUM(event_count) AS n FROM applied_batches WHERE topic = ?',
            [world.env.topics.product],
          );
          return Number(row.n ?? 0) === EVENTS;
        },
        20000,
        100,
      );
      appliedIn = Date.now() - started;
    } finally {
      looking = false;
      await Promise.all(lookups);
    }
    console.log(
      `event-lookup: ${EVENTS} events applied in ${appliedIn} ms under ${LOOKUPS} concurrent lookups; ` +
        `answers ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    // Unknown ids: a 404 (not applied), or a refusal (too many at once, or the scan cut short).
    for (const status of statuses.keys())
      expect(['client timeout', 404, 429, 503]).toContain(status);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(0);

    // Nothing the clients gave up on keeps scanning on the server: past the statement limit
    // (2 s by default) of the last lookup a client started, none is left.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await runningLookups(world)).toEqual([]);
  });

  it('a scan cut short by its time limit is a 503, never a "not applied"', async () => {
    await service.stop();
    service = await ServiceProcess.start(world.env, { EVENT_LOOKUP_TIMEOUT_MS: '200' });
    const res = await fetch(`${service.url}/events/${randomUUID()}`);
    const body = (await res.json()) as { applied: unknown; message: string };
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(body.applied).toBeNull();
    expect(body.message).toContain('EVENT_LOOKUP_TIMEOUT_MS');
  });

  it('the window leaves older batches out: a recent event is found at once despite the history', async () => {
    const event = productUpdated({ productId: 'lk-recent' });
    await world.publish([event]);
    await service.stop();
    service = await ServiceProcess.start(world.env, {
      EVENT_LOOKUP_WINDOW_MINUTES: '5',
      EVENT_LOOKUP_TIMEOUT_MS: '200',
    });
    const found = await waitFor('the event applied and found', async () => {
      const res = await fetch(`${service.url}/events/${event.eventId}`);
      return res.status === 200 && ((await res.json()) as { windowMinutes: number });
    });
    expect(found.windowMinutes).toBe(5);
    const missing = await fetch(`${service.url}/events/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toContain('last 5 min');
  });
});
