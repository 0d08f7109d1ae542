import { readFileSync } from 'node:fs';
import { Kafka, KafkaConfig, SASLOptions } from 'kafkajs';
import type { AppConfig } from '@invalidator/config';

/** The Kafka settings of AppConfig (the example shop's config has them too). */
type KafkaSettings = Partial<AppConfig> &
  Pick<AppConfig, 'KAFKA_BROKERS' | 'KAFKA_TLS' | 'KAFKA_SASL_MECHANISM'>;

/** A kafkajs client of KAFKA_BROKERS, their TLS and SASL: the service's, the CLI's, the shop's. */
export function kafkaClient(config: KafkaSettings, options: Partial<KafkaConfig>): Kafka {
  const read = (path: string | undefined) => (path ? readFileSync(path, 'utf8') : undefined);
  const ca = read(config.KAFKA_TLS_CA_FILE);
  const mechanism = config.KAFKA_SASL_MECHANISM;
  return new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    ssl: config.KAFKA_TLS
      ? {
          rejectUnauthorized: true,
          ...(ca ? { ca: [ca] } : {}),
          cert: read(config.KAFKA_TLS_CERT_FILE),
          key: read(config.KAFKA_TLS_KEY_FILE),
        }
      : undefined,
    sasl:
      mechanism === 'none'
        ? undefined
        : ({
            mechanism,
            username: config.KAFKA_SASL_USERNAME ?? '',
            password: config.KAFKA_SASL_PASSWORD ?? '',
          } as SASLOptions),
    ...options,
  });
}
