import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

/** One isolated world per test: its own database, topics, consumer group and Redis key prefix. */
export interface TestEnv {
  id: string;
  database: string;
  mysqlUrl: string;
  redisUrl: string;
  redisPrefix: string;
  brokers: string[];
  groupId: string;
  topics: { product: string; category: string; dlq: string };
  partitions: number;
}

export const MYSQL_ROOT_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const KAFKA_BROKERS = (process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function newTestEnv(name: string, partitions = 6): TestEnv {
  const id = `${name}_${randomBytes(4).toString('hex')}`;
  const database = `inv_test_${id}`;
  return {
    id,
    database,
    mysqlUrl: `${MYSQL_ROOT_URL}/${database}`,
    redisUrl: REDIS_URL,
    redisPrefix: `test:${id}:`,
    brokers: KAFKA_BROKERS,
    groupId: `invalidator-${id}`,
    topics: {
      product: `test.${id}.product-updated`,
      category: `test.${id}.category-updated`,
      dlq: `test.${id}.dlq`,
    },
    partitions,
  };
}

/** The service's environment for a test world. */
export function serviceEnv(env: TestEnv, httpPort: number, extra: Record<string, string> = {}) {
  return {
    KAFKA_BROKERS: env.brokers.join(','),
    KAFKA_GROUP_ID: env.groupId,
    KAFKA_CLIENT_ID: `invalidator-${env.id}`,
    KAFKA_TOPIC_PRODUCT: env.topics.product,
    KAFKA_TOPIC_CATEGORY: env.topics.category,
    KAFKA_TOPIC_DLQ: env.topics.dlq,
    KAFKA_TOPIC_PARTITIONS: String(env.partitions),
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    MYSQL_URL: env.mysqlUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.redisPrefix,
    HTTP_PORT: String(httpPort),
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Thrown by a waitFor probe when waiting longer cannot help (the process under test exited). */
export class GiveUpWaiting extends Error {}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof GiveUpWaiting) throw error;
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}
