import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import Redis, { Cluster, RedisOptions } from 'ioredis';
import type { KafkaConfig } from 'kafkajs';
import type { ConnectionOptions } from 'mysql2';

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

/**
 * The secured stack (`scripts/stack.sh up secure`, its settings in .stack/secure/env): TLS
 * everywhere, the test support as each store's admin user, the service as its own users with
 * its passwords as files.
 */
export const SECURE = process.env.TEST_SECURE === '1';
const testFile = (name: string) => process.env[name] || undefined;
const secretOf = (name: string) => {
  const file = testFile(`${name}_FILE`);
  return file ? readFileSync(file, 'utf8').replace(/\r?\n$/, '') : testFile(name);
};

export const MYSQL_ROOT_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** Set (e.g. 127.0.0.1:7000,...,127.0.0.1:7005) to run the same specs against a Redis Cluster. */
export const REDIS_CLUSTER_NODES = process.env.TEST_REDIS_CLUSTER_NODES || undefined;
export const KAFKA_BROKERS = (process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

const caOf = (name: string) => {
  const file = testFile(name);
  return file ? readFileSync(file) : undefined;
};

/** TLS and SASL of the test support's Kafka clients (the broker's admin user). */
export const KAFKA_SECURITY: Pick<KafkaConfig, 'ssl' | 'sasl'> = (() => {
  const ca = caOf('TEST_KAFKA_TLS_CA_FILE');
  const mechanism = testFile('TEST_KAFKA_SASL_MECHANISM');
  return {
    ...(ca ? { ssl: { ca: [ca], rejectUnauthorized: true } } : {}),
    ...(mechanism
      ? {
          sasl: {
            mechanism: mechanism as 'scram-sha-512',
            username: testFile('TEST_KAFKA_SASL_USERNAME') ?? '',
            password: secretOf('TEST_KAFKA_SASL_PASSWORD') ?? '',
          },
        }
      : {}),
  };
})();

/** Password and TLS of the test support's Redis clients (the admin user of TEST_REDIS_URL). */
export const REDIS_SECURITY: RedisOptions = (() => {
  const ca = caOf('TEST_REDIS_TLS_CA_FILE');
  const password = secretOf('TEST_REDIS_PASSWORD');
  const username = testFile('TEST_REDIS_USERNAME');
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(ca ? { tls: { ca, rejectUnauthorized: true } } : {}),
  };
})();

/**
 * The web tier's Redis user (libs/client, the example shop) on the secured stack, with TLS:
 * its own ACL (scripts/stack.sh's secure profile). Elsewhere the same as the test support's.
 */
export const WEB_REDIS_SECURITY: RedisOptions = (() => {
  const username = testFile('TEST_REDIS_WEB_USERNAME');
  if (!SECURE || !username) return REDIS_SECURITY;
  const ca = caOf('TEST_REDIS_TLS_CA_FILE');
  return {
    username,
    password: secretOf('TEST_REDIS_WEB_PASSWORD') ?? '',
    ...(ca ? { tls: { ca, rejectUnauthorized: true } } : {}),
  };
})();

/** A web server's client of the stack's Redis: as testRedis, as the web tier's user. */
export function webRedis(keyPrefix: string): Redis | Cluster {
  return REDIS_CLUSTER_NODES
    ? new Cluster(clusterNodes(REDIS_CLUSTER_NODES), {
        keyPrefix,
        redisOptions: WEB_REDIS_SECURITY,
      })
    : new Redis(REDIS_URL, { keyPrefix, ...WEB_REDIS_SECURITY });
}

/** The Redis settings of a web-tier process (the example shop, the client's example). */
export function webRedisEnv(): Record<string, string> {
  if (!SECURE) return {};
  const set = (entries: [string, string | undefined][]) =>
    Object.fromEntries(entries.filter((e): e is [string, string] => !!e[1]));
  return set([
    ['REDIS_URL', withoutCredentials(REDIS_URL)],
    ['REDIS_USERNAME', testFile('TEST_REDIS_WEB_USERNAME')],
    ['REDIS_PASSWORD_FILE', testFile('TEST_REDIS_WEB_PASSWORD_FILE')],
    ['REDIS_TLS_CA_FILE', testFile('TEST_REDIS_TLS_CA_FILE')],
  ]);
}

/**
 * What the example shop needs on the secured stack: the web tier's Redis user, the tests' admin
 * users of MySQL (it creates its own database) and Kafka (it publishes as a shop), TLS with
 * the stack's CA. Empty on the plain stack.
 */
export function shopSecurityEnv(): Record<string, string> {
  if (!SECURE) return {};
  const mysql = mysqlTestSettings();
  const set = (entries: [string, string | undefined][]) =>
    Object.fromEntries(entries.filter((e): e is [string, string] => !!e[1]));
  return set([
    ...Object.entries(webRedisEnv()),
    ['SHOP_MYSQL_PASSWORD_FILE', mysql.MYSQL_PASSWORD_FILE],
    ['SHOP_MYSQL_TLS', mysql.MYSQL_TLS],
    ['SHOP_MYSQL_TLS_CA_FILE', mysql.MYSQL_TLS_CA_FILE],
    ['KAFKA_SASL_MECHANISM', testFile('TEST_KAFKA_SASL_MECHANISM')],
    ['KAFKA_SASL_USERNAME', testFile('TEST_KAFKA_SASL_USERNAME')],
    ['KAFKA_SASL_PASSWORD_FILE', testFile('TEST_KAFKA_SASL_PASSWORD_FILE')],
    ['KAFKA_TLS', 'true'],
    ['KAFKA_TLS_CA_FILE', testFile('TEST_KAFKA_TLS_CA_FILE')],
  ]);
}

/** mysql2 options of a connection as the test support's MySQL admin (root) to `url`. */
export function mysqlTestOptions(url: string): ConnectionOptions {
  const ca = caOf('TEST_MYSQL_TLS_CA_FILE');
  const password = secretOf('TEST_MYSQL_PASSWORD');
  return {
    uri: url,
    ...(password ? { password } : {}),
    ...(ca ? { ssl: { ca, rejectUnauthorized: true, verifyIdentity: true } } : {}),
  };
}

/** The MySQL settings of a service (or CLI, or TypeORM) connecting as the tests' admin. */
export function mysqlTestSettings(): Record<string, string> {
  const ca = testFile('TEST_MYSQL_TLS_CA_FILE');
  const passwordFile = testFile('TEST_MYSQL_PASSWORD_FILE');
  return {
    ...(passwordFile ? { MYSQL_PASSWORD_FILE: passwordFile } : {}),
    ...(ca ? { MYSQL_TLS: 'true', MYSQL_TLS_CA_FILE: ca } : {}),
  };
}

/** The TLS part of mysqlOptions() for a test DataSource, with the admin's password. */
export function mysqlTestSecurity() {
  const ca = testFile('TEST_MYSQL_TLS_CA_FILE');
  return {
    MYSQL_PASSWORD: secretOf('TEST_MYSQL_PASSWORD'),
    MYSQL_TLS: Boolean(ca),
    MYSQL_TLS_CA_FILE: ca,
  };
}

/**
 * What a service started by a test needs on the secured stack: its own Kafka and Redis users
 * (least privilege, passwords as files), TLS with the stack's CA. Empty on the plain stack.
 */
export function serviceSecurityEnv(): Record<string, string> {
  if (!SECURE) return mysqlTestSettings();
  const set = (entries: [string, string | undefined][]) =>
    Object.fromEntries(entries.filter((e): e is [string, string] => !!e[1]));
  return set([
    ['KAFKA_SASL_MECHANISM', testFile('TEST_KAFKA_SASL_MECHANISM')],
    ['KAFKA_SASL_USERNAME', testFile('TEST_KAFKA_SERVICE_USERNAME')],
    ['KAFKA_SASL_PASSWORD_FILE', testFile('TEST_KAFKA_SERVICE_PASSWORD_FILE')],
    ['KAFKA_TLS', 'true'],
    ['KAFKA_TLS_CA_FILE', testFile('TEST_KAFKA_TLS_CA_FILE')],
    ['REDIS_USERNAME', testFile('TEST_REDIS_SERVICE_USERNAME')],
    ['REDIS_PASSWORD_FILE', testFile('TEST_REDIS_SERVICE_PASSWORD_FILE')],
    ['REDIS_TLS', 'true'],
    ['REDIS_TLS_CA_FILE', testFile('TEST_REDIS_TLS_CA_FILE')],
    ...Object.entries(mysqlTestSettings()),
  ]);
}

/** A URL without its user and password (the service gets its own as separate settings). */
export function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

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
    ? new Cluster(clusterNodes(REDIS_CLUSTER_NODES), { keyPrefix, redisOptions: REDIS_SECURITY })
    : new Redis(REDIS_URL, { keyPrefix, ...REDIS_SECURITY });
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
    REDIS_URL: SECURE ? withoutCredentials(env.redisUrl) : env.redisUrl,
    ...(env.redisClusterNodes ? { REDIS_CLUSTER_NODES: env.redisClusterNodes } : {}),
    REDIS_KEY_PREFIX: env.redisPrefix,
    HTTP_PORT: String(httpPort),
    LOG_LEVEL: 'info',
    ...serviceSecurityEnv(),
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
