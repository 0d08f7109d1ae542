import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * Fencing tokens come from a MySQL sequence row, not from Redis: they must keep increasing
 * across a Redis restart (Redis here keeps nothing on disk).
 */
@Injectable()
export class FenceTokenRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async next(): Promise<bigint> {
    const raw: { affectedRows?: number; insertId?: number | string } = await this.dataSource.query(
      "UPDATE lock_fence_sequence SET value = LAST_INSERT_ID(value + 1) WHERE name = 'lock:fence'",
    );
    if (raw.affectedRows !== 1 || raw.insertId === undefined) {
      throw new Error('fence sequence row lock:fence is missing; run the migrations');
    }
    return BigInt(raw.insertId);
  }
}
