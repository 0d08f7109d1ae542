import { ServiceProcess } from '../support/service-process';
import { expectOracle, mixedLoad, reportFigures, seedTags } from '../support/fault-kit';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

const SESSION_TIMEOUT_MS = 6000;
/** Each way, per chunk: a statement costs about twice this, a saga about 20 statements. */
const LATENCY_MS = 400;
const WAVES = 2;
const PER_WAVE = 40;

describe('a saga slower than the Kafka session', () => {
  let world: World;
  let proxy: TcpProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('heartbeat', 1);
    const url = new URL(world.env.mysqlUrl);
    proxy = await TcpProxy.start(url.hostname, Number(url.port));
    url.port = String(proxy.port);
    service = await ServiceProcess.start(world.env, {
      MYSQL_URL: url.toString(),
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      // Let one slow attempt finish: the point is the session, not the attempt bound.
      LOCK_TTL_MS: '60000',
      BREAKER_TIMEOUT_MS: '60000',
      MYSQL_QUERY_TIMEOUT_MS: '30000',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await world?.close();
  });

  it('keeps its group membership: no eviction, no rebalance, no redelivery; each event applied once', async () => {
    const events = mixedLoad(WAVES * PER_WAVE, 'hb');
    const tags = await seedTags(world, events);
    proxy.delay(LATENCY_MS);
    const sagaStarted = Date.now();
    for (let wave = 0; wave < WAVES; wave++) {
      await world.publish(events.slice(wave * PER_WAVE, (wave + 1) * PER_WAVE));
      await waitFor(
        `wave ${wave + 1} committed`,
        async () =>
          (await world.committedOffsets(world.env.topics.product)) +
            (await world.committedOffsets(world.env.topics.category)) ===
          (wave + 1) * PER_WAVE,
        90000,
        250,
      );
    }
    const elapsedMs = Date.now() - sagaStarted;
    const sagaMs = await service.metric('invalidator_saga_duration_seconds_sum', {
      outcome: 'success',
    });
    const sagas = await service.metric('invalidator_saga_duration_seconds_count', {
      outcome: 'success',
    });
    expect(service.logLines('consumer joined its group')).toHaveLength(1);
    expect(service.logLines('batch abandoned before commit; it will be redelivered')).toEqual([]);
    expect(
      service.logLines(
        'offset commit failed; the batch will be redelivered and deduplicated by the offset ledger',
      ),
    ).toEqual([]);
    expect(await service.metric('invalidator_events_total', { outcome: 'duplicate' })).toBe(0);
    // The sagas really were slower than the session.
    expect((sagaMs * 1000) / sagas).toBeGreaterThan(SESSION_TIMEOUT_MS);
    proxy.delay(0);
    await expectOracle(
      world,
      events.map((e) => e.eventId),
      0,
      tags,
    );
    reportFigures({
      case: 'saga-heartbeat',
      events: events.length,
      bad: 0,
      faults: `MySQL latency ${LATENCY_MS} ms each way; ${sagas} sagas averaging ${Math.round((sagaMs * 1000) / sagas)} ms against a ${SESSION_TIMEOUT_MS} ms session; all committed in ${elapsedMs} ms, one group join`,
      drainMs: elapsedMs,
      dlq: 0,
    });
  });
});
