import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger's batches by partition and offset: an event below its partition's mark is a
 * redelivery only if a batch covering its offset names it (offset-ledger.ts, claim), and that
 * lookup must not scan the other partitions' history.
 */
export class LedgerPartitionIndex1734000000000 implements MigrationInterface {
  name = 'LedgerPartitionIndex1734000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE applied_batches ADD KEY ix_applied_batches_partition (topic, `partition`, next_offset)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE applied_batches DROP KEY ix_applied_batches_partition');
  }
}
