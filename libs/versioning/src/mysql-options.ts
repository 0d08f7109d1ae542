import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '@invalidator/config';
import { VERSIONING_ENTITIES } from './entities';
import { VERSIONING_MIGRATIONS } from './migrations';

/** The one MySQL connection setup, shared by the service, the CLI and the tests. */
export function mysqlOptions(
  config: Pick<AppConfig, 'MYSQL_URL' | 'MYSQL_POOL_SIZE' | 'MYSQL_MIGRATIONS_RUN'>,
): DataSourceOptions {
  return {
    type: 'mysql',
    url: config.MYSQL_URL,
    entities: VERSIONING_ENTITIES,
    migrations: VERSIONING_MIGRATIONS,
    migrationsRun: config.MYSQL_MIGRATIONS_RUN,
    synchronize: false,
    poolSize: config.MYSQL_POOL_SIZE,
    // BIGINT columns stay exact: mysql2 returns them as strings, we parse them to bigint.
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
  };
}
