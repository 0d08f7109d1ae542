import { MigrationInterface, QueryRunner } from 'typeorm';

/** The versioning stores (README "Stores"; the fence sequence is libs/locking's own). */
export class InitialSchema1732400000000 implements MigrationInterface {
  name = 'InitialSchema1732400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE shop_data_versions (
        data_type VARCHAR(64) NOT NULL,
        version BIGINT UNSIGNED NOT NULL,
        hash CHAR(64) NOT NULL,
        fence_token BIGINT UNSIGNED NOT NULL DEFAULT 0,
        updated_at DATETIME(6) NOT NULL,
        PRIMARY KEY (data_type)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await queryRunner.query(`
      CREATE TABLE processed_events (
        event_id CHAR(36) NOT NULL,
        topic VARCHAR(255) NOT NULL,
        \`partition\` INT NOT NULL,
        \`offset\` BIGINT NOT NULL,
        processed_at DATETIME(6) NOT NULL,
        PRIMARY KEY (event_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`);
    // The unique keys make guarantee 3 a property of the schema: no two bumps of a type
    // can ever share a version or a hash, whatever the code above does.
    await queryRunner.query(`
      CREATE TABLE version_audit (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        data_type VARCHAR(64) NOT NULL,
        old_version BIGINT UNSIGNED NOT NULL,
        new_version BIGINT UNSIGNED NOT NULL,
        new_hash CHAR(64) NOT NULL,
        fence_token BIGINT UNSIGNED NOT NULL,
        actor VARCHAR(128) NOT NULL,
        event_ids LONGTEXT NOT NULL,
        created_at DATETIME(6) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_version_audit_type_version (data_type, new_version),
        UNIQUE KEY uq_version_audit_type_hash (data_type, new_hash)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await queryRunner.query(`
      INSERT INTO shop_data_versions (data_type, version, hash, fence_token, updated_at)
      VALUES ('products', 0, SHA2('products:0', 256), 0, NOW(6)),
             ('categories', 0, SHA2('categories:0', 256), 0, NOW(6)),
             ('global', 0, SHA2('global:0', 256), 0, NOW(6))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE version_audit');
    await queryRunner.query('DROP TABLE processed_events');
    await queryRunner.query('DROP TABLE shop_data_versions');
  }
}
