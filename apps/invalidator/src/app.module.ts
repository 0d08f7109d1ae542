import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, ConfigModule } from '@invalidator/config';
import { CacheModule } from '@invalidator/cache';
import { MonitoringModule } from '@invalidator/monitoring';
import { InvalidationModule } from '@invalidator/invalidation';
import { LockingModule } from '@invalidator/locking';
import { RedisModule } from '@invalidator/redis';
import { VersioningModule, mysqlOptions } from '@invalidator/versioning';
import { DashboardModule } from './dashboard/dashboard.module';
import { AdminController } from './http/admin.controller';
import { AdminGuardModule } from './http/admin-guard.module';
import { EventsController } from './http/events.controller';
import { HealthController } from './http/health.controller';
import { HealthProbeLogger } from './http/health-probe.logger';
import { MonitoringController } from './http/monitoring.controller';
import { LockSweepScheduler } from './locks/lock-sweep.scheduler';
import { MetricsController } from './http/metrics.controller';
import { VersionsController } from './http/versions.controller';
import { DeadLetterPublisher } from './kafka/dead-letter.publisher';
import { KafkaBatchTransport } from './kafka/kafka-batch.transport';
import { KafkaModule } from './kafka/kafka.module';
import { StalenessScheduler } from './staleness/staleness.scheduler';
import { RetentionScheduler } from './retention/retention.scheduler';
import { VersionRepublisher } from './versions/version-republisher';

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
            // Every line logged during a request carries its headers: never the credentials.
            redact: {
              paths: [
                'req.headers.authorization',
                'req.headers.cookie',
                'req.headers["proxy-authorization"]',
                'req.headers["sec-websocket-protocol"]',
                'res.headers["set-cookie"]',
              ],
              censor: '[redacted]',
            },
          },
        }),
        TypeOrmModule.forRoot({
          ...mysqlOptions(config),
          // Keep retrying the first connection: MySQL being away delays start-up, it is not fatal.
          retryAttempts: Number.MAX_SAFE_INTEGER,
          retryDelay: 2000,
        }),
        TerminusModule.forRoot({ logger: HealthProbeLogger }),
        MonitoringModule,
        RedisModule,
        CacheModule,
        LockingModule,
        VersioningModule,
        KafkaModule,
        AdminGuardModule,
        InvalidationModule.forConsumer({
          imports: [KafkaModule],
          deadLetters: DeadLetterPublisher,
        }),
        ...(config.DASHBOARD_ENABLED ? [DashboardModule] : []),
      ],
      controllers: [
        VersionsController,
        MetricsController,
        HealthController,
        MonitoringController,
        AdminController,
        EventsController,
      ],
      providers: [
        KafkaBatchTransport,
        LockSweepScheduler,
        RetentionScheduler,
        VersionRepublisher,
        StalenessScheduler,
      ],
    };
  }
}
