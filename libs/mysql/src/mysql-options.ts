import { readFileSync } from 'node:fs';
import mysql2 from 'mysql2';
import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '@invalidator/config';
import { QueryTimeoutSubscriber } from './query-timeout.subscriber';

/** The users' and TLS settings, each optional (none given: the URL's user, no TLS). */
type MysqlSecurity = Partial<AppConfig>;

/** Who connects: the service's runtime (DML) user, or the migrations (DDL) user. */
type MysqlRole = 'runtime' | 'migrations';
type MysqlMigrations = DataSourceOptions['migrations'];

/** mysql2's TLS options: the server's certificate and its name are always verified. */
export function mysqlTls(config: MysqlSecurity) {
  if (!config.MYSQL_TLS) return undefined;
  const read = (path: string | undefined) => (path ? readFileSync(path) : undefined);
  return {
    ca: read(config.MYSQL_TLS_CA_FILE),
    cert: read(config.MYSQL_TLS_CERT_FILE),
    key: read(config.MYSQL_TLS_KEY_FILE),
    rejectUnauthorized: true,
    verifyIdentity: true,
  };
}

/**
 * Host, port, user, password and database of MYSQL_URL, the password replaced by
 * MYSQL_PASSWORD (the migrations role: MYSQL_MIGRATIONS_USER and its password).
 */
export function mysqlEndpoint(
  config: Pick<AppConfig, 'MYSQL_URL'> & MysqlSecurity,
  role: MysqlRole = 'runtime',
) {
  const url = new URL(config.MYSQL_URL);
  const urlUser = decodeURIComponent(url.username) || 'root';
  const urlPassword = url.password ? decodeURIComponent(url.password) : undefined;
  const runtimePassword = config.MYSQL_PASSWORD ?? urlPassword;
  const migrationsUser = role === 'migrations' ? config.MYSQL_MIGRATIONS_USER : undefined;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 3306,
    username: migrationsUser ?? urlUser,
    password: migrationsUser ? config.MYSQL_MIGRATIONS_PASSWORD : runtimePassword,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
  };
}

/** Sets each new connection of a (core, callback) mysql2 pool to UTC: see utcSessions. */
export function inUtc<P extends mysql2.Pool>(pool: P): P {
  pool.on('connection', (connection) =>
    connection.query("SET time_zone = '+00:00'", (error) => {
      if (error) connection.destroy();
    }),
  );
  return pool;
}

/**
 * mysql2 for TypeORM, its pools' sessions in UTC. Times are written with NOW(6) and read as UTC
 * (`timezone: 'Z'`): a session in the server's own zone would shift every stored time,
 * retention window and published `updatedAt` on a server outside UTC. The SET is queued on each
 * new connection before it is handed out, so no statement runs ahead of it; a connection that
 * cannot set it is destroyed, never used.
 */
const utcSessions: typeof mysql2 = Object.create(mysql2, {
  createPool: { value: (options: mysql2.PoolOptions) => inUtc(mysql2.createPool(options)) },
});

/**
 * The one MySQL connection setup, shared by the service, the CLI and the tests. Each lib
 * migrates the tables it owns; the app lists the migrations of the libs it runs (TypeORM
 * orders them by their timestamps).
 */
export function mysqlOptions(
  config: Pick<AppConfig, 'MYSQL_URL' | 'MYSQL_POOL_SIZE' | 'MYSQL_MIGRATIONS_RUN'> & MysqlSecurity,
  { role = 'runtime', migrations = [] }: { role?: MysqlRole; migrations?: MysqlMigrations } = {},
): DataSourceOptions {
  const timeoutMs = config.MYSQL_QUERY_TIMEOUT_MS ?? 15000;
  return {
    type: 'mysql',
    driver: utcSessions,
    ...mysqlEndpoint(config, role),
    ssl: mysqlTls(config),
    // Every query is raw SQL in a repository: TypeORM needs no entity metadata.
    migrations,
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
