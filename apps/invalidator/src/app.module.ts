import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, ConfigModule } from '@invalidator/config';
import { LOCKING_MIGRATIONS } from '@invalidator/locking';
import { MONITORING_MIGRATIONS } from '@invalidator/monitoring';
import { mysqlOptions } from '@invalidator/mysql';
import { VERSIONING_MIGRATIONS } from '@invalidator/versioning';
import { DashboardModule } from './dashboard/dashboard.module';
import { HousekeepingModule } from './housekeeping/housekeeping.module';
import { HttpModule } from './http/http.module';

/** The service's schema: each lib's migrations of the tables it owns. */
const MIGRATIONS = [VERSIONING_MIGRATIONS, LOCKING_MIGRATIONS, MONITORING_MIGRATIONS].flat();

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
          ...mysqlOptions(config, { migrations: MIGRATIONS }),
          // Keep retrying the first connection: MySQL being away delays start-up, it is not fatal.
          retryAttempts: Number.MAX_SAFE_INTEGER,
          retryDelay: 2000,
        }),
        HousekeepingModule,
        HttpModule,
        ...(config.DASHBOARD_ENABLED ? [DashboardModule] : []),
      ],
    };
  }
}
