import { DataSource } from 'typeorm';
import { VERSIONING_ENTITIES, VERSIONING_MIGRATIONS } from '@invalidator/versioning';

/** A migrated TypeORM DataSource on a test database, for repository-level tests. */
export async function migratedDataSource(url: string): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'mysql',
    url,
    entities: VERSIONING_ENTITIES,
    migrations: VERSIONING_MIGRATIONS,
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  return dataSource;
}
