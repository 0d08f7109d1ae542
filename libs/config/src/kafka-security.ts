import { readFileSync } from 'node:fs';
import { KafkaConfig, SASLOptions } from 'kafkajs';
import { AppConfig } from './config.schema';

/** TLS and SASL of every Kafka client: the consumer, the dead-letter producer, the CLI's. */
export function kafkaSecurity(config: AppConfig): Pick<KafkaConfig, 'ssl' | 'sasl'> {
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
