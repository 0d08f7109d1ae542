import { Provider } from '@nestjs/common';
import { logLevel } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { kafkaClient } from '@invalidator/kafka';
import { kafkaLogCreator } from './kafka-log';

export const KAFKA = Symbol('KAFKA');

export const kafkaProvider: Provider = {
  provide: KAFKA,
  inject: [APP_CONFIG, PinoLogger],
  useFactory: (config: AppConfig, logger: PinoLogger) => {
    logger.setContext('kafkajs');
    return kafkaClient(config, {
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(logger),
      // Reconnect forever: a broker outage stalls the pipeline, it never ends the process.
      retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER },
    });
  },
};
