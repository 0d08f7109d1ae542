import { MigrationInterface, QueryRunner } from 'typeorm';

/** Incidents are durable and shared by all instances: what happened and what was done. */
export class Incidents1732500000000 implements MigrationInterface {
  name = 'Incidents1732500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE incidents (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        kind VARCHAR(64) NOT NULL,
        severity VARCHAR(16) NOT NULL,
        message VARCHAR(1024) NOT NULL,
        corrective_action VARCHAR(1024) NOT NULL,
        details LONGTEXT NOT NULL,
        instance VARCHAR(128) NOT NULL,
        created_at DATETIME(6) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_incidents_created_at (created_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE incidents');
  }
}
