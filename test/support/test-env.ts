import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Redis, { Cluster } from 'ioredis';

/** One isolated world per test: its own database, topics, consumer group and Redis key prefix. */
export interface TestEnv {
  id: string;
  database: string;
  mysqlUrl: string;
  redisUrl: string;
  /** Seed nodes (host:port,...) when the run targets a Redis Cluster; then redisUrl is unused. */
  redisClusterNodes?: string;
  redisPrefix: string;
  brokers: string[];
  groupId: string;
  topics: { product: string; category: string; dlq: string };
  partitions: number;
}

export const MYSQL_ROOT_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** Set (e.g. 127.0.0.1:7000,...,127.0.0.1:7005) to run the same specs against a Redis Cluster. */
export const REDIS_CLUSTER_NODES = process.env.TEST_REDIS_CLUSTER_NODES || undefined;
export const KAFKA_BROKERS = (process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** `host:port,...` as ioredis' Cluster wants its seed nodes. */
export function clusterNodes(list: string) {
  return list.split(',').map((node) => {
    const at = node.lastIndexOf(':');
    return { host: node.slice(0, at).trim(), port: Number(node.slice(at + 1)) };
  });
}

/** A client of the stack's Redis: the cluster when the run targets one, else REDIS_URL. */
export function testRedis(keyPrefix: string): Redis | Cluster {
  return REDIS_CLUSTER_NODES
    ? new Cluster(clusterNodes(REDIS_CLUSTER_NODES), { keyPrefix })
    : new Redis(REDIS_URL, { keyPrefix });
}

/** The servers holding keys (every master of a cluster), without a key prefix. */
export function keyServers(client: Redis | Cluster, plain: () => Redis): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [plain()];
}

export function newTestEnv(name: string, partitions = 6): TestEnv {
  const id = `${name}_${randomBytes(4).toString('hex')}`;
  const database = `inv_test_${id}`;
  return {
    id,
    database,
    mysqlUrl: `${MYSQL_ROOT_URL}/${database}`,
    redisUrl: REDIS_URL,
    redisClusterNodes: REDIS_CLUSTER_NODES,
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
    ...(env.redisClusterNodes ? { REDIS_CLUSTER_NODES: env.redisClusterNodes } : {}),
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
