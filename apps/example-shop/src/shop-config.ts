import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { mysqlTls } from '@invalidator/mysql';

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const optional = z.string().optional();

/**
 * The example shop's environment: its own database, the service's Redis, Kafka and topics.
 * TLS and users as the service's settings name them (README "Running securely"): the Redis
 * user is the web tier's own; each password may be given as `<NAME>_FILE`.
 */
const shopConfigSchema = z.object({
  SHOP_HTTP_PORT: intIn(0, 65535).default(3100),
  SHOP_MYSQL_URL: z
    .string()
    .startsWith('mysql://')
    .default('mysql://root@127.0.0.1:3306/example_shop'),
  /** Replaces a password in SHOP_MYSQL_URL. */
  SHOP_MYSQL_PASSWORD: optional,
  /** TLS to MySQL, the server's certificate and name verified (against this CA if set). */
  SHOP_MYSQL_TLS: flag.default(false),
  SHOP_MYSQL_TLS_CA_FILE: optional,
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss:// (TLS)')
    .default('redis://127.0.0.1:6379/0'),
  REDIS_KEY_PREFIX: z.string().default(''),
  REDIS_USERNAME: optional,
  REDIS_PASSWORD: optional,
  REDIS_TLS_CA_FILE: optional,
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((v) => v.split(',').map((b) => b.trim())),
  KAFKA_TLS: flag.default(false),
  KAFKA_TLS_CA_FILE: optional,
  KAFKA_SASL_MECHANISM: z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']).default('none'),
  KAFKA_SASL_USERNAME: optional,
  KAFKA_SASL_PASSWORD: optional,
  KAFKA_TOPIC_PRODUCT: topic.default('shop.product-updated'),
  KAFKA_TOPIC_CATEGORY: topic.default('shop.category-updated'),
  /**
   * How changes are announced: `outbox`, events written with the rows and relayed to Kafka; or
   * `cdc`, the rows alone, read from the binlog by Debezium (cdc-mapping.json, README).
   */
  SHOP_EVENTS: z.enum(['outbox', 'cdc']).default('outbox'),
  OUTBOX_RELAY_INTERVAL_MS: intIn(10, 3600000).default(100),
  /** Sent outbox rows are kept this long, then deleted (the table stays bounded). */
  OUTBOX_RETENTION_S: intIn(60, 30 * 86400).default(86400),
  CACHE_TTL_S: intIn(1, 86400).default(300),
});

export type ShopConfig = z.infer<typeof shopConfigSchema>;
export const SHOP_CONFIG = Symbol('SHOP_CONFIG');

const SECRETS = ['SHOP_MYSQL_PASSWORD', 'REDIS_PASSWORD', 'KAFKA_SASL_PASSWORD'];

export function parseShopConfig(env: Record<string, string | undefined>): ShopConfig {
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  for (const name of SECRETS) {
    const file = given[`${name}_FILE`];
    if (file) given[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  }
  const result = shopConfigSchema.safeParse(given);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
  throw new Error(`Invalid configuration:\n${problems.join('\n')}`);
}

/** mysql2 options of the shop's connections to `uri` (its TLS and password). */
export function shopMysqlOptions(config: ShopConfig, uri: string) {
  const tls = {
    MYSQL_TLS: config.SHOP_MYSQL_TLS,
    MYSQL_TLS_CA_FILE: config.SHOP_MYSQL_TLS_CA_FILE,
  };
  return { uri, password: config.SHOP_MYSQL_PASSWORD, ssl: mysqlTls(tls) };
}

/** ioredis options of the shop's Redis client: its key prefix, user, password and TLS. */
export function shopRedisOptions(config: ShopConfig) {
  const ca = config.REDIS_TLS_CA_FILE;
  return {
    keyPrefix: config.REDIS_KEY_PREFIX,
    ...(config.REDIS_USERNAME ? { username: config.REDIS_USERNAME } : {}),
    ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
    ...(ca ? { tls: { ca: readFileSync(ca) } } : {}),
  };
}
