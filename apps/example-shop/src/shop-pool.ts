import { Pool, PoolOptions, createPool } from 'mysql2/promise';
import { inUtc } from '@invalidator/mysql';

/**
 * The shop's MySQL pool, every session in UTC and its DATETIMEs read as UTC: `updated_at` and
 * the outbox's times mean the same instant whatever the zone of the server or of this process.
 */
export function createShopPool(options: PoolOptions): Pool {
  const pool = createPool({ ...options, timezone: 'Z' });
  inUtc(pool.pool);
  return pool;
}
