import { Provider } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { APP_CONFIG, AppConfig, kafkaSecurity } from '@invalidator/config';

export const KAFKA = Symbol('KAFKA');

export const kafkaProvider: Provider = {
  provide: KAFKA,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig) =>
    new Kafka({
      clientId: config.KAFKA_CLIENT_ID,
      brokers: config.KAFKA_BROKERS,
      ...kafkaSecurity(config),
      logLevel: logLevel.WARN,
      // Reconnect forever: a broker outage stalls the pipeline, it never ends the process.
      retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER },
    }),
};
