import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A table bounded by a retention window on one indexed time column. */
export interface RetainedTable {
  table: 'applied_batches' | 'processed_events' | 'version_audit' | 'incidents';
  column: 'applied_at' | 'processed_at' | 'created_at';
}

export const RETAINED_TABLES: readonly RetainedTable[] = [
  { table: 'applied_batches', column: 'applied_at' },
  { table: 'processed_events', column: 'processed_at' },
  { table: 'version_audit', column: 'created_at' },
  { table: 'incidents', column: 'created_at' },
];

/** Deletes rows past their window, a small chunk per statement, out of the saga's way. */
@Injectable()
export class RetentionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One chunk of rows older than `cutoff`; returns how many went. READ COMMITTED takes no gap
   * locks, so the sagas' inserts at the young end of the index never wait for a prune.
   */
  async pruneChunk({ table, column }: RetainedTable, cutoff: Date, rows: number): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction('READ COMMITTED');
      try {
        const result = await runner.query(
          `DELETE FROM \`${table}\` WHERE \`${column}\` < ? ORDER BY \`${column}\` LIMIT ?`,
          [cutoff, rows],
          true,
        );
        await runner.commitTransaction();
        return result.affected ?? 0;
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }
}
