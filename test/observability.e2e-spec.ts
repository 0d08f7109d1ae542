import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { productUpdated } from './support/events';
import { World } from './support/world';

interface Figures {
  sagas: { total: number; succeeded: number; failed: number };
  durationMs: { min: number; max: number; avg: number };
  successRate: number;
  errorRate: number;
  events: { applied: number; duplicate: number; deadLettered: number };
  breaker: string;
  alerts: Record<string, number>;
}
interface IncidentsBody {
  hours: number;
  incidents: {
    kind: string;
    severity: string;
    message: string;
    correctiveAction: string;
    details: Record<string, unknown>;
  }[];
}

describe('observability', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('obs');
    service = await ServiceProcess.start(world.env, { LOCK_SWEEP_INTERVAL_MS: '300' });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('after 1,000 good and 10 bad events the counters moved by exactly that', async () => {
    const good = Array.from({ length: 1000 }, (_, i) => productUpdated({ productId: `p${i}` }));
    const bad = Array.from({ length: 10 }, (_, i) => ({ key: `bad${i}`, value: `{"broken":${i}` }));
    await world.publish([...good.slice(0, 500), ...bad, ...good.slice(500)]);
    await waitFor(
      'all offsets committed',
      async () => (await world.committedOffsets(world.env.topics.product)) === 1010,
    ).catch(async (error: Error) => {
      const committed = await world.committedOffsets(world.env.topics.product);
      throw new Error(
        `${error.message} (${committed} of 1010); the service's warnings:\n${service.warnings()}`,
      );
    });

    expect(await service.metric('invalidator_events_total', { outcome: 'applied' })).toBe(1000);
    expect(await service.metric('invalidator_events_total', { outcome: 'dead_lettered' })).toBe(10);
    expect(await service.metric('invalidator_events_total', { outcome: 'duplicate' })).toBe(0);
    expect(await service.metric('invalidator_dead_letters_total', { reason: 'not_json' })).toBe(10);
    const sagas = await service.metric('invalidator_saga_duration_seconds_count', {
      outcome: 'success',
    });
    expect(sagas).toBeGreaterThan(0);
    expect(
      await service.metric('invalidator_stage_duration_seconds_count', { stage: 'transaction' }),
    ).toBe(sagas);
    expect(
      await service.metric('invalidator_stage_duration_seconds_count', { stage: 'purge' }),
    ).toBe(sagas);
    expect(await service.metric('invalidator_data_version', { type: 'products' })).toBe(
      (await world.versions()).products,
    );
    expect(await service.metric('invalidator_circuit_state')).toBe(0);

    const figures = (await (await fetch(`${service.url}/monitoring/metrics`)).json()) as Figures;
    expect(figures.events).toEqual({ applied: 1000, duplicate: 0, deadLettered: 10 });
    expect(figures.sagas).toEqual({ total: sagas, succeeded: sagas, failed: 0 });
    expect(figures.successRate).toBe(1);
    expect(figures.errorRate).toBe(0);
    expect(figures.durationMs.min).toBeLessThanOrEqual(figures.durationMs.avg);
    expect(figures.durationMs.avg).toBeLessThanOrEqual(figures.durationMs.max);
    expect(figures.breaker).toBe('closed');
  });

  it('a stuck lock (no TTL) is removed by the sweep, with an incident and its corrective action', async () => {
    await world.redis.set('lock:shop.version.categories', 'left-behind');
    await waitFor('the sweep', async () => !(await world.exists('lock:shop.version.categories')));
    await waitFor('the incident', async () => {
      const body = (await (
        await fetch(`${service.url}/monitoring/incidents?hours=1`)
      ).json()) as IncidentsBody;
      return body.incidents.find((i) => i.kind === 'stuck_lock');
    });
    const body = (await (
      await fetch(`${service.url}/monitoring/incidents`)
    ).json()) as IncidentsBody;
    const incident = body.incidents.find((i) => i.kind === 'stuck_lock');
    expect(body.hours).toBe(24);
    expect(incident).toMatchObject({
      severity: 'WARNING',
      details: { key: 'lock:shop.version.categories', reason: 'no_ttl' },
    });
    expect(incident?.correctiveAction).toMatch(/expiry/);
    expect(await service.metric('invalidator_alerts_total', { kind: 'stuck_lock' })).toBe(1);
    expect((await fetch(`${service.url}/monitoring/incidents?hours=-3`)).status).toBe(400);
  });

  it('a lock held with a live TTL is never swept', async () => {
    await world.redis.set('lock:shop.version.manual', 'holder', 'PX', 3000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await world.redis.get('lock:shop.version.manual')).toBe('holder');
  });

  it('liveness checks only the process', async () => {
    const live = await fetch(`${service.url}/health/live`);
    expect(live.status).toBe(200);
    const body = (await live.json()) as { info: Record<string, unknown> };
    // The consumer's state is the process's own (has kafkajs given up on it?), not a dependency.
    expect(Object.keys(body.info)).toEqual(['event_loop', 'kafka_consumer']);
  });
});

describe('slow saga alert', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('slow');
    service = await ServiceProcess.start(world.env, { PERFORMANCE_THRESHOLD_MS: '1' });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a saga over PERFORMANCE_THRESHOLD_MS raises the alert counter, a WARNING log and an incident', async () => {
    const event = productUpdated({ productId: 'slow-1' });
    await world.publish([event]);
    await waitFor('the slow-saga incident', async () => {
      const body = (await (
        await fetch(`${service.url}/monitoring/incidents?hours=1`)
      ).json()) as IncidentsBody;
      return body.incidents.find((i) => i.kind === 'slow_saga');
    });
    expect(
      await service.metric('invalidator_alerts_total', { kind: 'slow_saga' }),
    ).toBeGreaterThanOrEqual(1);
    const body = (await (
      await fetch(`${service.url}/monitoring/incidents?hours=1`)
    ).json()) as IncidentsBody;
    const incident = body.incidents.find((i) => i.kind === 'slow_saga');
    expect(incident?.details).toMatchObject({
      data_types: ['global', 'products'],
      event_ids: [event.eventId],
    });
    expect(incident?.correctiveAction).toBeTruthy();
    const warnings = service
      .logs()
      .split('\n')
      .filter((l) => l.includes('"alert":"slow_saga"'));
    expect(JSON.parse(warnings[0])).toMatchObject({ level: 40, severity: 'WARNING' });
  });
});
