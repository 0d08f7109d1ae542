import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, logLevel } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { isCoordinatorNotReady, kafkaLogCreator } from './kafka-log';

const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable: true }));

describe(isCoordinatorNotReady.name, () => {
  it('a coordinator still loading the group is joining, however deeply kafkajs wraps it', () => {
    const loading = protocolError('GROUP_LOAD_IN_PROGRESS', 14);
    expect(isCoordinatorNotReady(loading)).toBe(true);
    expect(
      isCoordinatorNotReady(
        new KafkaJSNumberOfRetriesExceeded(loading, { retryCount: 5, retryTime: 300 }),
      ),
    ).toBe(true);
  });

  it('any other crash is not', () => {
    expect(isCoordinatorNotReady(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3))).toBe(false);
    expect(isCoordinatorNotReady(new Error('boom'))).toBe(false);
  });
});

describe(kafkaLogCreator.name, () => {
  const calls: [string, unknown, string][] = [];
  const at =
    (level: string) =>
    (fields: unknown, message: string): void => {
      calls.push([level, fields, message]);
    };
  const logger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
  } as unknown as PinoLogger;
  const log = kafkaLogCreator(logger)(logLevel.WARN);
  const entry = (namespace: string, level: logLevel, message: string) => ({
    namespace,
    level,
    label: '',
    log: { message, timestamp: 'now', logger: 'kafkajs', groupId: 'g' },
  });

  beforeEach(() => (calls.length = 0));

  it("writes kafkajs's lines through the service's logger at their level", () => {
    log(entry('Connection', logLevel.ERROR, 'Connection error'));
    log(entry('Runner', logLevel.WARN, 'The group is rebalancing, re-joining'));
    expect(calls).toEqual([
      ['error', { kafkajs: 'Connection', groupId: 'g' }, 'kafkajs: Connection error'],
      [
        'warn',
        { kafkajs: 'Runner', groupId: 'g' },
        'kafkajs: The group is rebalancing, re-joining',
      ],
    ]);
  });

  it("leaves the consumer's crash and restart lines to the transport's CRASH handler", () => {
    log(
      entry('Consumer', logLevel.ERROR, 'Crash: KafkaJSProtocolError: The coordinator is loading'),
    );
    log(entry('Consumer', logLevel.ERROR, 'Restarting the consumer in 300ms'));
    expect(calls).toEqual([]);
  });
});
