import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '@invalidator/config';
import { LOCKING_MIGRATIONS } from '@invalidator/locking';
import { MONITORING_MIGRATIONS } from '@invalidator/monitoring';
import { VERSIONING_MIGRATIONS } from './migrations';
import { QueryTimeoutSubscriber } from './query-timeout.subscriber';

/** The one MySQL connection setup, shared by the service, the CLI and the tests. */
export function mysqlOptions(
  config: Pick<AppConfig, 'MYSQL_URL' | 'MYSQL_POOL_SIZE' | 'MYSQL_MIGRATIONS_RUN'> &
    Partial<Pick<AppConfig, 'MYSQL_QUERY_TIMEOUT_MS'>>,
): DataSourceOptions {
  const timeoutMs = config.MYSQL_QUERY_TIMEOUT_MS ?? 15000;
  return {
    type: 'mysql',
    url: config.MYSQL_URL,
    // Every query is raw SQL in a repository: TypeORM needs no entity metadata.
    // Each lib migrates the tables it owns; TypeORM orders them by their timestamps.
    migrations: [...VERSIONING_MIGRATIONS, ...LOCKING_MIGRATIONS, ...MONITORING_MIGRATIONS],
    migrationsRun: config.MYSQL_MIGRATIONS_RUN,
    synchronize: false,
    poolSize: config.MYSQL_POOL_SIZE,
    // Every statement, and every new connection's handshake, is bounded: a silent network drop
    // must not hang a saga (and the row locks of its transaction) for hours.
    enableQueryTimeout: true,
    maxQueryExecutionTime: timeoutMs,
    connectTimeout: timeoutMs,
    subscribers: [QueryTimeoutSubscriber],
    // BIGINT columns stay exact: mysql2 returns them as strings, we parse them to bigint.
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
  };
}
