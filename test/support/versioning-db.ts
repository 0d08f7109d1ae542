import { DataSource } from 'typeorm';
import { mysqlOptions } from '@invalidator/versioning';
import { mysqlTestSecurity } from './test-env';

/** A migrated TypeORM DataSource on a test database, for repository-level tests. */
export async function migratedDataSource(url: string): Promise<DataSource> {
  const dataSource = new DataSource(
    mysqlOptions({
      MYSQL_URL: url,
      MYSQL_POOL_SIZE: 4,
      MYSQL_MIGRATIONS_RUN: true,
      ...mysqlTestSecurity(),
    }),
  );
  await dataSource.initialize();
  return dataSource;
}
