import 'reflect-metadata';
import type { Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { WsAdapter } from '@nestjs/platform-ws';
import { Logger } from 'nestjs-pino';
import { configOrExit } from '@invalidator/config';
import { AppModule } from './app.module';
import { KafkaBatchTransport } from './kafka/kafka-batch.transport';
import { hardenHttp } from './http/http-hardening';
import { captureProcessWarnings } from './process-warnings';
import { preflightStores } from './store-preflight';

async function bootstrap(): Promise<void> {
  const warnings = captureProcessWarnings();
  const config = configOrExit('invalidator', process.env);
  await preflightStores(config);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  warnings.logTo(logger);
  hardenHttp(app, config);
  // Plain WebSockets (the dashboard's feed) on the HTTP server's port.
  app.useWebSocketAdapter(new WsAdapter(app));
  const transport = app.get(KafkaBatchTransport);
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });

  // Our own signal handling rather than enableShutdownHooks(), which re-raises the signal and
  // so never exits 0. Stop fetching, let the batch in flight commit or be abandoned
  // uncommitted, and leave the group first: Nest would close the HTTP server first, and wait
  // for its requests in flight (a bump, a lookup) while the group waits for this member. Then
  // the requests in flight end, the pools close, and the process exits within the bound.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log({ signal, bound_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down');
    const bound = setTimeout(() => {
      logger.error({ bound_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown bound exceeded; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    bound.unref();
    const leftGroup = transport.close().catch((error: unknown) => {
      logger.error({ err: error }, 'error while leaving the consumer group');
    });
    // Nest's close waits for every open connection, and a connection its client keeps alive
    // after the answer would hold it until the client lets go: close each once it is idle.
    const server: Server = app.getHttpServer();
    const closeIdle = setInterval(() => server.closeIdleConnections(), 100);
    closeIdle.unref();
    leftGroup
      .then(() => app.close())
      .then(
        () => {
          logger.log('shut down cleanly');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  await app.listen(config.HTTP_PORT, '0.0.0.0');
  await app.startAllMicroservices();
}

void bootstrap();
