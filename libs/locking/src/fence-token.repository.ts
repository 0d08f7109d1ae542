import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The next fencing token: the sequence row moved on, the new value in the OK packet's insertId.
 * The version transaction runs it as its first statement (version.repository.ts).
 */
export const NEXT_FENCE_TOKEN_SQL =
  "UPDATE lock_fence_sequence SET value = LAST_INSERT_ID(value + 1) WHERE name = 'lock:fence'";

/** The token NEXT_FENCE_TOKEN_SQL handed out, from its result; throws if the row is missing. */
export function fenceTokenOf(raw: { affectedRows?: number; insertId?: number | string }): bigint {
  if (raw.affectedRows !== 1 || raw.insertId === undefined) {
    throw new Error('fence sequence row lock:fence is missing; run the migrations');
  }
  return BigInt(raw.insertId);
}

/**
 * Fencing tokens come from a MySQL sequence row, not from Redis: they must keep increasing
 * across a Redis restart (Redis here keeps nothing on disk).
 */
@Injectable()
export class FenceTokenRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async next(): Promise<bigint> {
    return fenceTokenOf(await this.dataSource.query(NEXT_FENCE_TOKEN_SQL));
  }
}
