import { EachBatchPayload, Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { Registry } from 'prom-client';
import { parseConfig } from '@invalidator/config';
import { CircuitBreakerService, InvalidatorMetrics } from '@invalidator/monitoring';
import { ConsumeBatch, IncomingBatch } from '@invalidator/invalidation';
import { FakeOffsetLedger } from '../../../../test/support/saga-fakes';
import { KafkaBatchTransport } from './kafka-batch.transport';

const EVENTS = {
  GROUP_JOIN: 'consumer.group_join',
  CRASH: 'consumer.crash',
  STOP: 'consumer.stop',
  DISCONNECT: 'consumer.disconnect',
};

/** A kafkajs consumer that only records listeners, so a test can play its events. */
function fakeConsumer() {
  const listeners = new Map<string, ((event: { payload: unknown }) => void)[]>();
  const emit = (name: string, payload: unknown = {}) =>
    (listeners.get(name) ?? []).forEach((listener) => listener({ payload }));
  const consumer = {
    events: EVENTS,
    on: (name: string, listener: (event: { payload: unknown }) => void) => {
      listeners.set(name, [...(listeners.get(name) ?? []), listener]);
      return () => undefined;
    },
    // kafkajs stops (STOP) then disconnects (DISCONNECT).
    disconnect: jest.fn(async () => {
      emit(EVENTS.STOP);
      emit(EVENTS.DISCONNECT);
    }),
    seek: jest.fn(),
    commitOffsets: jest.fn(async () => undefined),
  };
  return { consumer, emit };
}

function setup(batches = {} as ConsumeBatch, env: Record<string, string> = {}) {
  const { consumer, emit } = fakeConsumer();
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  const metrics = new InvalidatorMetrics(new Registry());
  const breaker = { onTransition: () => undefined } as unknown as CircuitBreakerService;
  const log = {
    warn: jest.fn(),
    info: jest.fn(),
    error: jest.fn(),
    debug: jest.fn(),
  } as unknown as PinoLogger;
  const sut = new KafkaBatchTransport(kafka, parseConfig(env), batches, metrics, breaker, log);
  return { sut, emit, metrics, consumer };
}

const TOPIC = 'shop.product-updated';
const turn = () => new Promise((r) => setImmediate(r));

/** A fetched batch of one partition, as kafkajs hands it to eachBatch. */
function fetched(partition: number, offsets: number[], resolveOffset = jest.fn()) {
  return {
    batch: {
      topic: TOPIC,
      partition,
      messages: offsets.map((o) => ({ offset: String(o), key: null, value: null, timestamp: '0' })),
      offsetLag: () => '0',
    },
    resolveOffset,
    heartbeat: async () => undefined,
    isRunning: () => true,
    // Never stale: a seek asked for has already taken effect (kafkajs: the partition's next
    // fetch, which another broker's fetcher makes when its leader moves).
    isStale: () => false,
  } as unknown as EachBatchPayload;
}

/** Sagas held until the test settles them; one that succeeds is applied to the ledger. */
function heldSagas() {
  const ledger = new FakeOffsetLedger();
  const held: { batch: IncomingBatch; settled: boolean; settle: (error?: Error) => void }[] = [];
  const handle = (batch: IncomingBatch) =>
    new Promise<void>((resolve, reject) => {
      const saga = {
        batch,
        settled: false,
        settle: (error?: Error) => {
          saga.settled = true;
          if (error) return reject(error);
          ledger.apply(batch);
          batch.commit().then(resolve, reject);
        },
      };
      held.push(saga);
    });
  /** Lets every saga so far and to come succeed, for `turns` turns. */
  const succeedAll = async (turns = 20) => {
    for (let i = 0; i < turns; i++) {
      held.filter((s) => !s.settled).forEach((s) => s.settle());
      await turn();
    }
  };
  return {
    ledger,
    held,
    succeedAll,
    batches: { apply: handle, prepare: () => undefined } as unknown as ConsumeBatch,
  };
}

const crash = (restart: boolean) => ({
  error: Object.assign(new Error('boom'), { name: 'KafkaJSNonRetriableError' }),
  groupId: 'g',
  restart,
});

describe(KafkaBatchTransport.name, () => {
  it('a crash kafkajs will not restart marks the consumer dead, for liveness to fail', () => {
    const { sut, emit } = setup();
    emit(EVENTS.GROUP_JOIN, { memberAssignment: {} });
    expect(sut.deadConsumer()).toBeUndefined();
    emit(EVENTS.STOP);
    emit(EVENTS.DISCONNECT);
    emit(EVENTS.CRASH, crash(false));
    expect(sut.deadConsumer()).toMatch(/crashed and will not restart: KafkaJSNonRetriableError/);
    expect(sut.isJoined()).toBe(false);
  });

  it('a crash kafkajs restarts leaves the consumer alive', () => {
    const { sut, emit } = setup();
    emit(EVENTS.STOP);
    emit(EVENTS.CRASH, crash(true));
    expect(sut.deadConsumer()).toBeUndefined();
  });

  it('a stop nobody requested marks the consumer dead; the stop of a shutdown does not', async () => {
    const unrequested = setup();
    unrequested.emit(EVENTS.STOP);
    expect(unrequested.sut.deadConsumer()).toMatch(/stopped without a stop requested/);

    const shutdown = setup();
    await shutdown.sut.close();
    expect(shutdown.sut.deadConsumer()).toBeUndefined();
  });

  it('consumer-lag label sets of partitions revoked by a rebalance are removed', async () => {
    const { sut, emit, metrics } = setup();
    for (const partition of [0, 1, 2]) {
      // An empty batch: the transport records the partition's lag and has nothing to run.
      const batch = {
        topic: 'shop.product-updated',
        partition,
        messages: [],
        offsetLag: () => '5',
      };
      await sut['eachBatch']({ batch } as unknown as EachBatchPayload);
    }
    expect((await metrics.consumerLag.get()).values).toHaveLength(3);
    emit(EVENTS.GROUP_JOIN, { memberAssignment: { 'shop.product-updated': [1] } });
    const { values } = await metrics.consumerLag.get();
    expect(values.map((v) => v.labels.partition)).toEqual(['1']);
  });

  it('hands a batch over and returns (kafkajs fetches on); a failed saga seeks its partition back to it', async () => {
    let fail: (error: Error) => void = () => undefined;
    const handle = jest.fn(() => new Promise<void>((_, reject) => (fail = reject)));
    const { sut, consumer } = setup({
      apply: handle,
      prepare: () => undefined,
    } as unknown as ConsumeBatch);
    const resolveOffset = jest.fn();
    const message = (offset: string) => ({ offset, key: null, value: null, timestamp: '0' });
    const payload = {
      batch: {
        topic: 'shop.product-updated',
        partition: 3,
        messages: [message('40'), message('41')],
        offsetLag: () => '0',
      },
      resolveOffset,
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload;

    await sut['eachBatch'](payload);
    // Returned before the saga ran: resolved (so the next fetch goes on), not committed.
    expect(resolveOffset).toHaveBeenCalledWith('41');
    await new Promise((r) => setImmediate(r));
    expect(handle).toHaveBeenCalledTimes(1);
    expect(consumer.commitOffsets).not.toHaveBeenCalled();

    fail(new Error('saga failed'));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(consumer.seek).toHaveBeenCalledWith({
      topic: 'shop.product-updated',
      partition: 3,
      offset: '40',
    });
    expect(consumer.commitOffsets).not.toHaveBeenCalled();
    // Sought back: the partition's batches are taken again.
    expect(sut['coalescer'].isBlocked('shop.product-updated', 3)).toBe(false);
  });

  it('a batch parked by back-pressure is never applied past a rewind of its partition', async () => {
    const { ledger, held, succeedAll, batches } = heldSagas();
    const { sut, consumer } = setup(batches, { SAGA_MAX_EVENTS: '2' });
    await sut['eachBatch'](fetched(3, [40, 41]));
    await turn();
    expect(held).toHaveLength(1);
    // Another partition's batch fills the coalescer, so the next batch of partition 3 parks.
    await sut['eachBatch'](fetched(4, [0, 1]));
    const parked = sut['eachBatch'](fetched(3, [42, 43]));
    await turn();

    held[0].settle(new Error('saga failed'));
    await succeedAll();
    await parked;
    expect(consumer.seek).toHaveBeenCalledWith({ topic: TOPIC, partition: 3, offset: '40' });
    // The refetch from the failed batch on.
    const refetch = sut['eachBatch'](fetched(3, [40, 41, 42, 43]));
    await succeedAll();
    await refetch;

    expect(ledger.skipped).toEqual([]);
    expect(ledger.applied.filter((a) => a.startsWith('3@'))).toEqual([
      '3@40',
      '3@41',
      '3@42',
      '3@43',
    ]);
  });

  it('at most SAGA_MAX_EVENTS events wait behind the running saga, however many partitions come at once', async () => {
    const { ledger, held, batches } = heldSagas();
    const { sut } = setup(batches, { SAGA_MAX_EVENTS: '2' });
    let handedIn = 0;
    // Each batch of two is resolved once, right before it is handed to the coalescer.
    const resolveOffset = jest.fn(() => (handedIn += 2));
    // kafkajs' workers call eachBatch for every partition of a fetch at once.
    const fetches = Array.from({ length: 64 }, (_, p) =>
      sut['eachBatch'](fetched(p, [0, 1], resolveOffset)),
    );
    let mostWaiting = 0;
    for (let i = 0; i < 200 && ledger.applied.length < 128; i++) {
      await turn();
      const inSagas = held.reduce((n, s) => n + s.batch.messages.length, 0);
      mostWaiting = Math.max(mostWaiting, handedIn - inSagas);
      held.filter((s) => !s.settled).forEach((s) => s.settle());
    }
    await Promise.all(fetches);

    expect(ledger.applied).toHaveLength(128);
    expect(mostWaiting).toBeLessThanOrEqual(2);
  });
});
