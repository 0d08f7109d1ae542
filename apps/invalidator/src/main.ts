import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ConfigError, parseConfig } from '@invalidator/config';
import { AppModule } from './app.module';
import { KafkaBatchTransport } from './kafka/kafka-batch.transport';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`invalidator: ${error.message}\n`);
    process.exit(2);
  }
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.connectMicroservice({ strategy: app.get(KafkaBatchTransport) }, { inheritAppConfig: true });
  await app.listen(config.HTTP_PORT, '0.0.0.0');
  await app.startAllMicroservices();
}

void bootstrap();
