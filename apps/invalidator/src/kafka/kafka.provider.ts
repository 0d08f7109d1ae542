import { readFileSync } from 'node:fs';
import { Provider } from '@nestjs/common';
import { Kafka, KafkaConfig, SASLOptions, logLevel } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { kafkaLogCreator } from './kafka-log';

export const KAFKA = Symbol('KAFKA');

/** TLS and SASL of the consumer and the dead-letter producer alike. */
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

export const kafkaProvider: Provider = {
  provide: KAFKA,
  inject: [APP_CONFIG, PinoLogger],
  useFactory: (config: AppConfig, logger: PinoLogger) => {
    logger.setContext('kafkajs');
    return new Kafka({
      clientId: config.KAFKA_CLIENT_ID,
      brokers: config.KAFKA_BROKERS,
      ...kafkaSecurity(config),
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(logger),
      // Reconnect forever: a broker outage stalls the pipeline, it never ends the process.
      retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER },
    });
  },
};
