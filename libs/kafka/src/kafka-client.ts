import { readFileSync } from 'node:fs';
import { Kafka, KafkaConfig, SASLOptions } from 'kafkajs';
import type { AppConfig } from '@invalidator/config';

/** The Kafka settings of AppConfig (the example shop's config has them too). */
type KafkaSettings = Partial<AppConfig> &
  Pick<AppConfig, 'KAFKA_BROKERS' | 'KAFKA_TLS' | 'KAFKA_SASL_MECHANISM'>;

/** TLS and SASL of every Kafka client: the consumer, the dead-letter producer, the CLI's, the shop's. */
function kafkaSecurity(config: KafkaSettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const read = (path: string | undefined) => (path ? readFileSync(path, 'utf8') : undefined);
  const ca = read(config.KAFKA_TLS_CA_FILE);
  const ssl = config.KAFKA_TLS
    ? {
        rejectUnauthorized: true,
        ...(ca ? { ca: [ca] } : {}),
        cert: read(config.KAFKA_TLS_CERT_FILE),
        key: read(config.KAFKA_TLS_KEY_FILE),
      }
    : undefined;
  const mechanism = config.KAFKA_SASL_MECHANISM;
  const sasl =
    mechanism === 'none'
      ? undefined
      : ({
          mechanism,
          username: config.KAFKA_SASL_USERNAME ?? '',
          password: config.KAFKA_SASL_PASSWORD ?? '',
        } as SASLOptions);
  return { ssl, sasl };
}

/** A kafkajs client of the configured brokers, as KAFKA_CLIENT_ID, with their TLS and SASL. */
export const kafkaClient = (config: KafkaSettings, options: Partial<KafkaConfig>) =>
  new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    ...kafkaSecurity(config),
    ...options,
  });
