import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exactly-once by offset: each partition's next offset to apply, written in the version
 * transaction, and one row per (saga, partition) naming the events it applied, packed. The
 * per-event inbox (processed_events) stays for manual bumps' idempotency keys only.
 */
export class OffsetLedger1733000000000 implements MigrationInterface {
  name = 'OffsetLedger1733000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE partition_offsets (
        topic VARCHAR(249) NOT NULL,
        \`partition\` INT NOT NULL,
        next_offset BIGINT NOT NULL,
        updated_at DATETIME(6) NOT NULL,
        PRIMARY KEY (topic, \`partition\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`);
    // event_ids: 20 bytes per applied event, in offset order: the UUID's 16 bytes, then the
    // offset's distance from first_offset (uint32, big-endian).
    await queryRunner.query(`
      CREATE TABLE applied_batches (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        topic VARCHAR(249) NOT NULL,
        \`partition\` INT NOT NULL,
        first_offset BIGINT NOT NULL,
        next_offset BIGINT NOT NULL,
        event_count INT NOT NULL,
        event_ids LONGBLOB NOT NULL,
        fence_token BIGINT UNSIGNED NOT NULL,
        applied_at DATETIME(6) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_applied_batches_applied_at (applied_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`);
    await queryRunner.query(
      'ALTER TABLE version_audit ADD KEY ix_version_audit_created_at (created_at)',
    );
    await queryRunner.query(
      'ALTER TABLE processed_events ADD KEY ix_processed_events_processed_at (processed_at)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE processed_events DROP KEY ix_processed_events_processed_at',
    );
    await queryRunner.query('ALTER TABLE version_audit DROP KEY ix_version_audit_created_at');
    await queryRunner.query('DROP TABLE applied_batches');
    await queryRunner.query('DROP TABLE partition_offsets');
  }
}
