import { z } from 'zod';

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');

/** The example shop's environment: its own database, the service's Redis, Kafka and topics. */
const shopConfigSchema = z.object({
  SHOP_HTTP_PORT: intIn(0, 65535).default(3100),
  SHOP_MYSQL_URL: z
    .string()
    .startsWith('mysql://')
    .default('mysql://root@127.0.0.1:3306/example_shop'),
  REDIS_URL: z.string().startsWith('redis://').default('redis://127.0.0.1:6379/0'),
  REDIS_KEY_PREFIX: z.string().default(''),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((v) => v.split(',').map((b) => b.trim())),
  KAFKA_TOPIC_PRODUCT: topic.default('shop.product-updated'),
  KAFKA_TOPIC_CATEGORY: topic.default('shop.category-updated'),
  OUTBOX_RELAY_INTERVAL_MS: intIn(10, 3600000).default(100),
  /** Sent outbox rows are kept this long, then deleted (the table stays bounded). */
  OUTBOX_RETENTION_S: intIn(60, 30 * 86400).default(86400),
  CACHE_TTL_S: intIn(1, 86400).default(300),
});

export type ShopConfig = z.infer<typeof shopConfigSchema>;
export const SHOP_CONFIG = Symbol('SHOP_CONFIG');

export function parseShopConfig(env: Record<string, string | undefined>): ShopConfig {
  const result = shopConfigSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')),
  );
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
  throw new Error(`Invalid configuration:\n${problems.join('\n')}`);
}
