import { ServiceProcess } from '../support/service-process';
import { drainAndCheck, mixedLoad, seedTags } from '../support/fault-kit';
import { KafkaProxy } from '../support/kafka-proxy';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

const COOLDOWN_MS = 75000;
const KAFKA_CUT_MS = 12000;
const WATCH_MS = 8000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the breaker open while the consumer crashes and restarts', () => {
  let world: World;
  let redisProxy: TcpProxy;
  let kafkaProxy: KafkaProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('brkrestart');
    const redisUrl = new URL(world.env.redisUrl);
    redisProxy = await TcpProxy.start(redisUrl.hostname, Number(redisUrl.port));
    redisUrl.port = String(redisProxy.port);
    const [brokerHost, brokerPort] = world.env.brokers[0].split(':');
    kafkaProxy = await KafkaProxy.start(brokerHost, Number(brokerPort));
    service = await ServiceProcess.start(world.env, {
      KAFKA_BROKERS: kafkaProxy.address,
      REDIS_URL: redisUrl.toString(),
      BREAKER_WINDOW_MS: '10000',
      BREAKER_MIN_VOLUME: '3',
      BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      LOCK_RETRY_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '500',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await redisProxy?.close();
    await kafkaProxy?.close();
    await world?.close();
  });

  const breakerState = () => service.metric('invalidator_circuit_state');
  const refusals = () =>
    service.metric('invalidator_saga_retries_total', { error: 'EOPENBREAKER' });

  it('the service survives, stays paused while open (nothing consumed or applied), and drains everything afterwards', async () => {
    const before = mixedLoad(200, 'r0');
    const during = mixedLoad(300, 'r1');
    const events = [...before, ...during];
    const tags = await seedTags(world, events);
    await world.publish(before);
    await waitFor(
      'the first events applied',
      async () => (await world.inboxCount(before.map((e) => e.eventId))) === before.length,
    );

    redisProxy.cut();
    await world.publish(during);
    await waitFor('the breaker to open', async () => (await breakerState()) === 2, 60000);

    // Kafka away from the service alone past its session: the member is evicted and the batch
    // in flight (retrying against the open breaker) is revoked. Back, but with metadata listing
    // no broker: the consumer crashes and restarts, a new kafkajs group each time.
    const joinsBefore = service.logLines('consumer joined its group').length;
    kafkaProxy.cut();
    await sleep(KAFKA_CUT_MS);
    kafkaProxy.restore();
    kafkaProxy.hideBrokers();
    await waitFor(
      'the consumer to crash',
      async () => service.logLines('consumer crashed').length > 0,
      30000,
    );
    kafkaProxy.restore();
    await waitFor(
      'the consumer back in its group',
      async () => service.logLines('consumer joined its group').length > joinsBefore,
      30000,
    );
    expect(service.logLines('consumer crashed').length).toBeGreaterThan(0);
    expect(service.exited()).toBe(false);

    // Back in its group with the breaker still open: it must not fetch a thing.
    await sleep(2000);
    const refusedAtJoin = await refusals();
    const appliedAtJoin = await world.inboxCount();
    await sleep(WATCH_MS);
    expect(await breakerState()).toBe(2);
    expect(await refusals()).toBe(refusedAtJoin);
    expect(await world.inboxCount()).toBe(appliedAtJoin);
    expect(service.exited()).toBe(false);

    redisProxy.restore();
    const restored = Date.now();
    await drainAndCheck(world, {
      case: 'breaker-restart-consumer',
      events,
      tags,
      faults: `Redis cut (breaker open, cool-down ${COOLDOWN_MS} ms), Kafka cut ${KAFKA_CUT_MS} ms under it then brokers hidden (consumer crash-restart); paused ${WATCH_MS} ms after the rejoin`,
      faultEnded: restored,
    });
    expect(service.exited()).toBe(false);
  });
});
