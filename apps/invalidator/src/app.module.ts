import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, ConfigModule } from '@invalidator/config';
import { CacheModule } from '@invalidator/cache';
import { LockingModule } from '@invalidator/locking';
import { MonitoringModule } from '@invalidator/monitoring';
import {
  VERSIONING_ENTITIES,
  VERSIONING_MIGRATIONS,
  VersioningModule,
} from '@invalidator/versioning';
import { HealthController } from './http/health.controller';
import { MetricsController } from './http/metrics.controller';
import { VersionsController } from './http/versions.controller';
import { DeadLetterPublisher } from './kafka/dead-letter.publisher';
import { KafkaBatchTransport } from './kafka/kafka-batch.transport';
import { kafkaProvider } from './kafka/kafka.provider';
import { InvalidationSaga } from './saga/invalidation.saga';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            autoLogging: false,
            base: { service: 'invalidator' },
          },
        }),
        TypeOrmModule.forRoot({
          type: 'mysql',
          url: config.MYSQL_URL,
          entities: VERSIONING_ENTITIES,
          migrations: VERSIONING_MIGRATIONS,
          migrationsRun: config.MYSQL_MIGRATIONS_RUN,
          synchronize: false,
          poolSize: config.MYSQL_POOL_SIZE,
          supportBigNumbers: true,
          bigNumberStrings: true,
          dateStrings: false,
          timezone: 'Z',
          // Keep retrying the first connection: MySQL being away delays start-up, it is not fatal.
          retryAttempts: Number.MAX_SAFE_INTEGER,
          retryDelay: 2000,
        }),
        TerminusModule,
        MonitoringModule,
        CacheModule,
        LockingModule,
        VersioningModule,
      ],
      controllers: [VersionsController, MetricsController, HealthController],
      providers: [kafkaProvider, DeadLetterPublisher, InvalidationSaga, KafkaBatchTransport],
    };
  }
}
