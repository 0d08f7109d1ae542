import { DataSource } from 'typeorm';
import { LOCKING_MIGRATIONS } from '@invalidator/locking';
import { MONITORING_MIGRATIONS } from '@invalidator/monitoring';
import { mysqlOptions } from '@invalidator/mysql';
import { VERSIONING_MIGRATIONS } from '@invalidator/versioning';
import { mysqlTestSecurity } from './test-env';

/** The service's schema (its app composes the same list). */
export const MIGRATIONS = [
  ...VERSIONING_MIGRATIONS,
  ...LOCKING_MIGRATIONS,
  ...MONITORING_MIGRATIONS,
];

/** A migrated TypeORM DataSource on a test database, for repository-level tests. */
export async function migratedDataSource(url: string, poolSize = 4): Promise<DataSource> {
  const dataSource = new DataSource(
    mysqlOptions(
      {
        MYSQL_URL: url,
        MYSQL_POOL_SIZE: poolSize,
        MYSQL_MIGRATIONS_RUN: true,
        ...mysqlTestSecurity(),
      },
      { migrations: MIGRATIONS },
    ),
  );
  await dataSource.initialize();
  return dataSource;
}
