import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The durable fencing-token sequence of the lock layer. Databases migrated before it moved here
 * got it from the initial schema: hence IF NOT EXISTS and INSERT IGNORE.
 */
export class FenceSequence1732400000001 implements MigrationInterface {
  name = 'FenceSequence1732400000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS lock_fence_sequence (
        name VARCHAR(64) NOT NULL,
        value BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (name)
      ) ENGINE=InnoDB`);
    await queryRunner.query(
      `INSERT IGNORE INTO lock_fence_sequence (name, value) VALUES ('lock:fence', 0)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE lock_fence_sequence');
  }
}
