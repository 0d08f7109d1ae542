import mysql from 'mysql2/promise';
import {
  AppConfig,
  PROBE_TIMEOUT_MS,
  StoreRefusedError,
  errorCode,
  tlsFailure,
} from '@invalidator/config';
import { mysqlEndpoint, mysqlTls } from './mysql-options';

/** Start-up's MySQL probe: access denied, secure transport required, TLS refused or untrusted. */
export async function probeMysql(config: AppConfig): Promise<void> {
  const endpoint = mysqlEndpoint(config);
  const where = `${endpoint.host}:${endpoint.port}`;
  try {
    const connection = await mysql.createConnection({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.username,
      password: endpoint.password,
      database: endpoint.database,
      ssl: mysqlTls(config),
      connectTimeout: PROBE_TIMEOUT_MS,
    });
    await connection.end();
  } catch (error) {
    const code = errorCode(error);
    const message = (error as Error).message;
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR')
      throw new StoreRefusedError(
        'MySQL',
        where,
        message,
        // A user created REQUIRE SSL is refused the same way without TLS.
        config.MYSQL_TLS ? 'MYSQL_URL, MYSQL_PASSWORD' : 'MYSQL_URL, MYSQL_PASSWORD, MYSQL_TLS',
      );
    if (/secure transport|insecure transport|SSL/i.test(message) || tlsFailure(error))
      throw new StoreRefusedError('MySQL', where, message, 'MYSQL_TLS, MYSQL_TLS_CA_FILE');
    // Anything else (not reachable yet, too many connections) is an outage: start-up waits.
  }
}
