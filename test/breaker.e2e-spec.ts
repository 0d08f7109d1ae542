import { ServiceProcess } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/test-env';
import { productUpdated } from './support/events';
import { World } from './support/world';

interface IncidentsBody {
  incidents: { kind: string; severity: string; correctiveAction: string }[];
}

describe('the error-rate circuit breaker', () => {
  let world: World;
  let redisProxy: TcpProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('breaker');
    const redisUrl = new URL(world.env.redisUrl);
    redisProxy = await TcpProxy.start(redisUrl.hostname, Number(redisUrl.port));
    service = await ServiceProcess.start(world.env, {
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/0`,
      BREAKER_WINDOW_MS: '10000',
      BREAKER_MIN_VOLUME: '3',
      BREAKER_COOLDOWN_MS: '2000',
      LOCK_RETRY_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '500',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await redisProxy?.close();
    await world?.close();
  });

  const status = async (path: string) => (await fetch(`${service.url}${path}`)).status;

  it('Redis cut off: opens, pauses without committing, readiness 503 and liveness 200; Redis back: closes and drains', async () => {
    const first = productUpdated({ productId: 'b0' });
    await world.publish([first]);
    await waitFor(
      'a first event applied',
      async () => (await world.inboxCount([first.eventId])) === 1,
    );
    const committedBefore = await world.committedOffsets(world.env.topics.product);

    redisProxy.cut();
    const backlog = Array.from({ length: 200 }, (_, i) =>
      productUpdated({ productId: `b${i + 1}` }),
    );
    await world.publish(backlog);

    await waitFor(
      'the breaker to open',
      async () => (await service.metric('invalidator_circuit_state')) === 2,
      60000,
    );
    expect(await status('/health/ready')).toBe(503);
    expect(await status('/health/live')).toBe(200);
    const ready = (await (await fetch(`${service.url}/health/ready`)).json()) as {
      error: Record<string, unknown>;
    };
    expect(ready.error).toHaveProperty('breaker');
    expect(await world.committedOffsets(world.env.topics.product)).toBe(committedBefore);
    expect(await world.inboxCount(backlog.map((e) => e.eventId))).toBe(0);
    expect(service.logs()).toContain('consumption paused by the circuit breaker');
    const critical = service
      .logs()
      .split('\n')
      .find((l) => l.includes('"alert":"breaker_open"'));
    expect(JSON.parse(critical ?? '{}')).toMatchObject({ level: 60, severity: 'CRITICAL' });

    redisProxy.restore();
    await waitFor(
      'the backlog drained',
      async () => (await world.inboxCount(backlog.map((e) => e.eventId))) === 200,
      90000,
    );
    await waitFor(
      'the breaker to close',
      async () => (await service.metric('invalidator_circuit_state')) === 0,
    );
    await waitFor(
      'every offset committed',
      async () => (await world.committedOffsets(world.env.topics.product)) === 201,
    );
    await waitFor('ready again', async () => (await status('/health/ready')) === 200);

    const body = (await (
      await fetch(`${service.url}/monitoring/incidents?hours=1`)
    ).json()) as IncidentsBody;
    const kinds = body.incidents.map((i) => i.kind);
    expect(kinds).toEqual(expect.arrayContaining(['breaker_open', 'breaker_closed']));
    for (const incident of body.incidents.filter((i) => i.kind.startsWith('breaker'))) {
      expect(incident.correctiveAction.length).toBeGreaterThan(10);
    }
    expect(service.logs()).toContain('consumption resumed');
    // Nothing was dead-lettered for an outage.
    expect(await world.dlqMessages()).toEqual([]);
  });
});
