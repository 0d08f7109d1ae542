import { z } from 'zod';

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const boolFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');

function urlWithProtocol(protocols: string[]) {
  return z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );
}

/** The longest lock TTL any instance may be configured with: a lock key outliving it is stuck. */
export const MAX_LOCK_TTL_MS = 600000;

const configFields = z.object({
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((v) => v.split(',').map((b) => b.trim()))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'each broker must be host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().min(1).default('invalidator'),
  KAFKA_GROUP_ID: z.string().min(1).default('invalidator'),
  KAFKA_TOPIC_PRODUCT: topic.default('shop.product-updated'),
  KAFKA_TOPIC_CATEGORY: topic.default('shop.category-updated'),
  KAFKA_TOPIC_DLQ: topic.default('shop.cache-invalidation.dlq'),
  KAFKA_TOPIC_PARTITIONS: intIn(1, 1000).default(6),
  /** -1: the broker's default.replication.factor. */
  KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .min(-1)
    .max(32767)
    .refine((n) => n !== 0, 'must be -1 (the broker default) or at least 1')
    .default(-1),
  KAFKA_SESSION_TIMEOUT_MS: intIn(6000, 300000).default(30000),
  KAFKA_MAX_BYTES_PER_PARTITION: intIn(65536, 100 * 1024 * 1024).default(1048576),
  KAFKA_DLQ_BATCH_BYTES: intIn(16384, 100 * 1024 * 1024).default(524288),
  KAFKA_DLQ_MAX_VALUE_BYTES: intIn(0, 100 * 1024 * 1024).default(131072),
  MYSQL_URL: urlWithProtocol(['mysql:', 'mariadb:']).default(
    'mysql://root@127.0.0.1:3306/invalidator',
  ),
  MYSQL_POOL_SIZE: intIn(1, 100).default(10),
  MYSQL_MIGRATIONS_RUN: boolFlag.default(true),
  MYSQL_QUERY_TIMEOUT_MS: intIn(1000, 600000).default(15000),
  MYSQL_WAIT_TIMEOUT_S: intIn(2, 28800).default(20),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:']).default('redis://127.0.0.1:6379/0'),
  /** Seed nodes of a Redis Cluster; when set, it replaces REDIS_URL. */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((v) => v.split(',').map((n) => n.trim()))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'each node must be host:port')).min(1))
    .transform((nodes) =>
      nodes.map((n) => {
        const at = n.lastIndexOf(':');
        return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
      }),
    )
    .optional(),
  REDIS_KEY_PREFIX: z.string().default(''),
  HTTP_PORT: intIn(0, 65535).default(3000),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOCK_TTL_MS: intIn(100, MAX_LOCK_TTL_MS).default(5000),
  LOCK_RETRY_ATTEMPTS: intIn(0, 100).default(3),
  LOCK_RETRY_DELAY_MS: intIn(1, 60000).default(100),
  /** First back-off of a failed saga attempt; unset, it follows LOCK_RETRY_DELAY_MS (as before). */
  SAGA_RETRY_DELAY_MS: intIn(1, 60000).optional(),
  VERSION_LOCK_TIMEOUT_MS: intIn(100, 600000).default(10000),
  PERFORMANCE_THRESHOLD_MS: intIn(1, 600000).default(1000),
  ERROR_RATE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.05),
  BREAKER_WINDOW_MS: intIn(1000, 3600000).default(10000),
  BREAKER_MIN_VOLUME: intIn(1, 100000).default(5),
  BREAKER_COOLDOWN_MS: intIn(100, 3600000).default(5000),
  BREAKER_TIMEOUT_MS: intIn(1000, 600000).default(20000),
  LOCK_SWEEP_INTERVAL_MS: intIn(100, 3600000).default(30000),
  /** How often the service samples the web tier's cached entries for staleness; 0: never. */
  STALENESS_SAMPLE_INTERVAL_MS: intIn(0, 86400000).default(60000),
  STALENESS_SAMPLES: intIn(1, 100000).default(100),
  SAGA_MAX_EVENTS: intIn(1, 1000000).default(50000),
  KAFKA_PARTITIONS_CONCURRENCY: intIn(1, 1024).default(64),
  INBOX_RETENTION_HOURS: intIn(1, 87600).default(168),
  AUDIT_RETENTION_DAYS: intIn(1, 36500).default(90),
  INCIDENT_RETENTION_DAYS: intIn(1, 36500).default(30),
  RETENTION_INTERVAL_MS: intIn(100, 86400000).default(60000),
  RETENTION_CHUNK_ROWS: intIn(1, 100000).default(1000),
  RETRY_MAX_DELAY_MS: intIn(10, 600000).default(5000),
  SHUTDOWN_TIMEOUT_MS: intIn(1000, 600000).default(25000),
  DASHBOARD_ENABLED: boolFlag.default(true),
  DASHBOARD_MAX_CLIENTS: intIn(1, 1000).default(20),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every variable the service reads, with its default. Nothing else reads process.env. */
export const configSchema = configFields
  .refine(
    // A statement legitimately waiting for a row lock must not be cut off as hung.
    (c) => c.MYSQL_QUERY_TIMEOUT_MS > c.VERSION_LOCK_TIMEOUT_MS,
    { message: 'must be greater than VERSION_LOCK_TIMEOUT_MS', path: ['MYSQL_QUERY_TIMEOUT_MS'] },
  )
  .transform((c) => ({
    ...c,
    SAGA_RETRY_DELAY_MS: c.SAGA_RETRY_DELAY_MS ?? c.LOCK_RETRY_DELAY_MS,
  }));

export type AppConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws a ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const result = configSchema.safeParse(blankAsUnset);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
  );
}
