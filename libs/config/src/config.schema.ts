import { accessSync, constants, readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseCdcMapping } from '@invalidator/contracts';
import { trustProxy } from './trust-proxy';

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

/** A readable file (a CA, a client certificate or key), read by the store's client at start-up. */
const readableFile = z.string().refine((path) => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}, 'must name a readable file');

/** Settings that are secrets: each may instead be given as `<NAME>_FILE`, the path of a file. */
export const SECRET_SETTINGS = [
  'KAFKA_SASL_PASSWORD',
  'REDIS_PASSWORD',
  'MYSQL_PASSWORD',
  'MYSQL_MIGRATIONS_PASSWORD',
  'ADMIN_TOKEN',
] as const;

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
  /** The change-data-capture mapping (libs/contracts change-event.ts), read at start-up. */
  CDC_MAPPING_FILE: z
    .string()
    .transform((path, ctx) => {
      try {
        return parseCdcMapping(JSON.parse(readFileSync(path, 'utf8')));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `${path}: ${(e as Error).message}` });
        return z.NEVER;
      }
    })
    .optional(),
  CDC_SNAPSHOT_EVENTS: z.enum(['skip', 'apply']).default('skip'),
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
  KAFKA_SASL_MECHANISM: z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']).default('none'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_TLS: boolFlag.default(false),
  KAFKA_TLS_CA_FILE: readableFile.optional(),
  KAFKA_TLS_CERT_FILE: readableFile.optional(),
  KAFKA_TLS_KEY_FILE: readableFile.optional(),
  MYSQL_URL: urlWithProtocol(['mysql:', 'mariadb:']).default(
    'mysql://root@127.0.0.1:3306/invalidator',
  ),
  MYSQL_POOL_SIZE: intIn(1, 100).default(10),
  MYSQL_MIGRATIONS_RUN: boolFlag.default(true),
  MYSQL_QUERY_TIMEOUT_MS: intIn(1000, 600000).default(15000),
  MYSQL_WAIT_TIMEOUT_S: intIn(2, 28800).default(20),
  /** Replaces a password in MYSQL_URL; best given as MYSQL_PASSWORD_FILE. */
  MYSQL_PASSWORD: z.string().min(1).optional(),
  /** The DDL user of `npm run migrate` (and the Helm Job); unset, the user of MYSQL_URL. */
  MYSQL_MIGRATIONS_USER: z.string().min(1).optional(),
  MYSQL_MIGRATIONS_PASSWORD: z.string().min(1).optional(),
  MYSQL_TLS: boolFlag.default(false),
  MYSQL_TLS_CA_FILE: readableFile.optional(),
  MYSQL_TLS_CERT_FILE: readableFile.optional(),
  MYSQL_TLS_KEY_FILE: readableFile.optional(),
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
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** TLS to Redis (and every node of a cluster); a rediss:// REDIS_URL turns it on too. */
  REDIS_TLS: boolFlag.optional(),
  REDIS_TLS_CA_FILE: readableFile.optional(),
  REDIS_TLS_CERT_FILE: readableFile.optional(),
  REDIS_TLS_KEY_FILE: readableFile.optional(),
  HTTP_PORT: intIn(0, 65535).default(3000),
  /** Largest request body accepted (413 beyond). */
  HTTP_BODY_LIMIT_BYTES: intIn(256, 1024 * 1024).default(4096),
  /** Which proxies' X-Forwarded-For tells the client's address (Express's `trust proxy`). */
  HTTP_TRUST_PROXY: trustProxy.default(false),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Bad admin tokens from one client within ADMIN_LOCKOUT_WINDOW_MS before it gets 429s. */
  ADMIN_LOCKOUT_ATTEMPTS: intIn(1, 10000).default(10),
  ADMIN_LOCKOUT_WINDOW_MS: intIn(1000, 86400000).default(60000),
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
  /** A batch of this many messages or more is checked on the check thread; 0: never. */
  CHECK_THREAD_MIN_MESSAGES: intIn(0, 1000000).default(1000),
  KAFKA_PARTITIONS_CONCURRENCY: intIn(1, 1024).default(64),
  INBOX_RETENTION_HOURS: intIn(1, 87600).default(168),
  /** `GET /events/{id}` scans the packed ids of the batches applied this many minutes back. */
  EVENT_LOOKUP_WINDOW_MINUTES: intIn(1, 87600 * 60).default(60),
  /** Server-side bound of one lookup's statements (then 503), and lookups at once (then 429). */
  EVENT_LOOKUP_TIMEOUT_MS: intIn(100, 60000).default(2000),
  EVENT_LOOKUP_CONCURRENCY: intIn(1, 20).default(2),
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
  .superRefine((c, ctx) => {
    const need = (when: boolean, path: string, message: string) => {
      if (when) ctx.addIssue({ code: 'custom', path: [path], message });
    };
    const sasl = c.KAFKA_SASL_MECHANISM !== 'none';
    need(sasl && !c.KAFKA_SASL_USERNAME, 'KAFKA_SASL_USERNAME', 'required with a SASL mechanism');
    need(
      sasl && !c.KAFKA_SASL_PASSWORD,
      'KAFKA_SASL_PASSWORD',
      'required with a SASL mechanism (or KAFKA_SASL_PASSWORD_FILE)',
    );
    for (const store of ['KAFKA', 'REDIS', 'MYSQL'] as const) {
      const cert = c[`${store}_TLS_CERT_FILE`];
      const key = c[`${store}_TLS_KEY_FILE`];
      need(!!cert !== !!key, `${store}_TLS_KEY_FILE`, `set with ${store}_TLS_CERT_FILE or neither`);
      const tls = store === 'REDIS' ? redisTls(c) : c[`${store}_TLS`];
      const tlsFiles = [c[`${store}_TLS_CA_FILE`], cert, key].some(Boolean);
      need(tlsFiles && !tls, `${store}_TLS`, `must be true when ${store}_TLS_* files are set`);
    }
  })
  .transform((c) => ({
    ...c,
    REDIS_TLS: redisTls(c),
    SAGA_RETRY_DELAY_MS: c.SAGA_RETRY_DELAY_MS ?? c.LOCK_RETRY_DELAY_MS,
  }));

function redisTls(c: { REDIS_TLS?: boolean; REDIS_URL: string }): boolean {
  return c.REDIS_TLS ?? c.REDIS_URL.startsWith('rediss:');
}

export type AppConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A secret file as Kubernetes and Docker mount it: one trailing newline is not part of it. */
const secretFromFile = (path: string) => readFileSync(path, 'utf8').replace(/\r?\n$/, '');

/**
 * Replaces each `<NAME>_FILE` of a secret by the file's content under `<NAME>`. Problems name
 * the setting and the path, never a secret.
 */
function resolveSecretFiles(env: Record<string, string>): {
  env: Record<string, string>;
  problems: string[];
} {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_SETTINGS) {
    const path = env[`${name}_FILE`];
    if (path === undefined) continue;
    delete resolved[`${name}_FILE`];
    if (env[name] !== undefined) {
      problems.push(`${name}_FILE: ${name} and ${name}_FILE are both set; set one of them`);
      continue;
    }
    try {
      const value = secretFromFile(path);
      if (value === '') problems.push(`${name}_FILE: the file ${path} is empty`);
      else resolved[name] = value;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`${name}_FILE: cannot read ${path} (${code})`);
    }
  }
  return { env: resolved, problems };
}

/** Parses the environment once; throws a ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const blankAsUnset = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  const secrets = resolveSecretFiles(blankAsUnset);
  const result = configSchema.safeParse(secrets.env);
  if (result.success && secrets.problems.length === 0) return result.data;
  throw new ConfigError([
    ...secrets.problems,
    ...(result.error?.issues ?? []).map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    ),
  ]);
}

/** parseConfig at start-up: a ConfigError exits 2 naming the program and each bad variable. */
export function configOrExit(program: string, env: Record<string, string | undefined>): AppConfig {
  try {
    return parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${program}: ${error.message}\n`);
    process.exit(2);
  }
}

/** The secret values of a configuration (for redaction). */
export function secretValues(config: AppConfig): string[] {
  const values: string[] = SECRET_SETTINGS.map((name) => config[name]).filter(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
  for (const url of [config.MYSQL_URL, config.REDIS_URL]) {
    const password = new URL(url).password;
    if (password) values.push(password, decodeURIComponent(password));
  }
  return values;
}
