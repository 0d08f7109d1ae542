import { DataSource } from 'typeorm';
import type { AppConfig } from '@invalidator/config';
import { LOCKING_MIGRATIONS } from '@invalidator/locking';
import { MONITORING_MIGRATIONS } from '@invalidator/monitoring';
import { mysqlOptions } from '@invalidator/mysql';
import { VERSIONING_MIGRATIONS } from '@invalidator/versioning';

/** The service's schema: each lib's migrations of the tables it owns. */
export const MIGRATIONS = [VERSIONING_MIGRATIONS, LOCKING_MIGRATIONS, MONITORING_MIGRATIONS].flat();

/**
 * `migrate`: runs the pending migrations as the migrations (DDL) user, MYSQL_MIGRATIONS_USER,
 * so the service itself can run as a user without DDL (MYSQL_MIGRATIONS_RUN=false). Nothing
 * but MySQL is touched: the Helm pre-install/pre-upgrade Job runs it before any pod.
 */
export async function migrate(config: AppConfig): Promise<string[]> {
  const source = new DataSource(
    mysqlOptions(
      { ...config, MYSQL_POOL_SIZE: 1, MYSQL_MIGRATIONS_RUN: false },
      { role: 'migrations', migrations: MIGRATIONS },
    ),
  );
  await source.initialize();
  try {
    const applied = await source.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await source.destroy();
  }
}
