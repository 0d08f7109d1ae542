import { Pool, PoolOptions, createPool } from 'mysql2/promise';

/**
 * The shop's MySQL pool, every session in UTC and its DATETIMEs read as UTC: `updated_at` and
 * the outbox's times mean the same instant whatever the zone of the server or of this process.
 */
export function createShopPool(options: PoolOptions): Pool {
  const pool = createPool({ ...options, timezone: 'Z' });
  // The core pool's event: its connection takes a callback, run before the connection is handed out.
  pool.pool.on('connection', (connection) =>
    connection.query("SET time_zone = '+00:00'", (error) => {
      if (error) connection.destroy();
    }),
  );
  return pool;
}
