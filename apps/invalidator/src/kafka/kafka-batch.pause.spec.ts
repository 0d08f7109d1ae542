import { Consumer, Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { parseConfig } from '@invalidator/config';
import { isStoreFailure } from '@invalidator/contracts';
import {
  AlertService,
  CircuitBreakerService,
  CircuitState,
  InvalidatorMetrics,
} from '@invalidator/monitoring';
import { ConsumeBatch } from '@invalidator/invalidation';
import { KafkaBatchTransport } from './kafka-batch.transport';

const EVENTS = { GROUP_JOIN: 'join', CRASH: 'crash', STOP: 'stop', DISCONNECT: 'disconnect' };

/** A kafkajs consumer stand-in that, like kafkajs, throws from pause/resume with no running group. */
function fakeConsumer() {
  const handlers = new Map<string, ((event: unknown) => void)[]>();
  const state = { running: false, paused: false };
  const notRunning = () => {
    if (!state.running)
      throw new Error('Consumer group was not initialized, consumer#run must be called first');
  };
  const consumer = {
    events: EVENTS,
    on: (event: string, handler: (event: unknown) => void) =>
      handlers.set(event, [...(handlers.get(event) ?? []), handler]),
    pause: jest.fn(() => {
      notRunning();
      state.paused = true;
    }),
    resume: jest.fn(() => {
      notRunning();
      state.paused = false;
    }),
  };
  const emit = (event: string) =>
    (handlers.get(event) ?? []).forEach((h) =>
      h({
        payload: {
          memberId: 'member-1',
          memberAssignment: {},
          error: new Error('crash'),
          restart: true,
        },
      }),
    );
  return { consumer, state, emit };
}

describe(KafkaBatchTransport.name, () => {
  const config = parseConfig({ BREAKER_COOLDOWN_MS: '100' });
  const logger = { warn: jest.fn(), info: jest.fn(), error: jest.fn() };

  function setUp() {
    const fake = fakeConsumer();
    const kafka = { consumer: () => fake.consumer as unknown as Consumer } as unknown as Kafka;
    let transition: (state: CircuitState) => void = () => undefined;
    const breaker = {
      onTransition: (listener: (state: CircuitState) => void) => (transition = listener),
    } as unknown as CircuitBreakerService;
    const sut = new KafkaBatchTransport(
      kafka,
      config,
      {} as ConsumeBatch,
      {} as InvalidatorMetrics,
      breaker,
      logger as unknown as PinoLogger,
    );
    return { sut, fake, transition: (state: CircuitState) => transition(state) };
  }

  it('a breaker that opens while the consumer has no running group neither throws nor forgets the pause', () => {
    const { fake, transition } = setUp();
    expect(() => transition('open')).not.toThrow();
    expect(fake.consumer.pause).toHaveBeenCalledTimes(1);

    // The consumer (re)starts and joins: a fresh kafkajs group, not paused, until we say so.
    fake.state.running = true;
    fake.emit(EVENTS.GROUP_JOIN);
    expect(fake.state.paused).toBe(true);
  });

  it('a restarted consumer is paused again on GROUP_JOIN while the breaker stays open', () => {
    const { fake, transition } = setUp();
    fake.state.running = true;
    transition('open');
    expect(fake.state.paused).toBe(true);

    // Crash-restart: kafkajs drops its group (and with it the pause), then joins with a new one.
    fake.state.running = false;
    fake.emit(EVENTS.CRASH);
    fake.state.paused = false;
    fake.state.running = true;
    fake.emit(EVENTS.GROUP_JOIN);
    expect(fake.state.paused).toBe(true);
  });

  it('a breaker that half-opens while the consumer restarts resumes it on the next join, without throwing', () => {
    const { fake, transition } = setUp();
    fake.state.running = true;
    transition('open');
    fake.state.running = false;
    expect(() => transition('halfOpen')).not.toThrow();
    fake.state.running = true;
    fake.emit(EVENTS.GROUP_JOIN);
    expect(fake.state.paused).toBe(false);
    expect(fake.consumer.pause).toHaveBeenCalledTimes(1);
  });
});

describe(CircuitBreakerService.name, () => {
  it('a listener that throws on a transition neither leaves fire() unsettled nor escapes the breaker', async () => {
    const config = parseConfig({
      BREAKER_MIN_VOLUME: '1',
      ERROR_RATE_THRESHOLD: '0.5',
      BREAKER_COOLDOWN_MS: '100',
    });
    const metrics = { circuitState: { set: jest.fn() } } as unknown as InvalidatorMetrics;
    const alerts = { raise: jest.fn(async () => undefined) } as unknown as AlertService;
    const sut = new CircuitBreakerService(config, metrics, alerts, isStoreFailure);
    const seen: CircuitState[] = [];
    sut.onTransition((state) => {
      seen.push(state);
      throw new Error('consumer#run must be called first');
    });
    const uncaught = jest.fn();
    process.on('uncaughtException', uncaught);
    try {
      const failure = sut.fire(() => Promise.reject(new Error('redis down')));
      await expect(failure).rejects.toThrow('redis down');
      expect(sut.state).toBe('open');
      await new Promise((r) => setTimeout(r, 250));
      expect(sut.state).toBe('halfOpen');
      expect(seen).toEqual(['open', 'halfOpen']);
      expect(uncaught).not.toHaveBeenCalled();
    } finally {
      process.off('uncaughtException', uncaught);
      sut.onApplicationShutdown();
    }
  });
});
