import { DataSource } from 'typeorm';
import type { AppConfig } from '@invalidator/config';
import { mysqlOptions } from '@invalidator/versioning';

/**
 * `migrate`: runs the pending migrations as the migrations (DDL) user, MYSQL_MIGRATIONS_USER,
 * so the service itself can run as a user without DDL (MYSQL_MIGRATIONS_RUN=false). Nothing
 * but MySQL is touched: the Helm pre-install/pre-upgrade Job runs it before any pod.
 */
export async function migrate(config: AppConfig): Promise<string[]> {
  const source = new DataSource({
    ...mysqlOptions({ ...config, MYSQL_POOL_SIZE: 1, MYSQL_MIGRATIONS_RUN: false }, 'migrations'),
  });
  await source.initialize();
  try {
    const applied = await source.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await source.destroy();
  }
}
