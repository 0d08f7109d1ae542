import { Provider } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig, kafkaSecurity } from '@invalidator/config';
import { kafkaLogCreator } from './kafka-log';

export const KAFKA = Symbol('KAFKA');

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
