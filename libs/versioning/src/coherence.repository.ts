import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { THROWAWAY_TYPE_PREFIX } from './version-hash';

/** LIKE pattern of the throwaway types of validation runs, left out of every check. */
const THROWAWAY_TYPES = `${THROWAWAY_TYPE_PREFIX}%`;

export interface AuditDuplicate {
  dataType: string;
  column: 'new_version' | 'new_hash';
  value: string;
  count: number;
}

export interface AuditGap {
  dataType: string;
  /** The version the chain should have continued from. */
  expected: string;
  found: string;
}

export interface HashMismatch {
  dataType: string;
  version: string;
  rowHash: string;
  auditHash: string;
}

/**
 * Read-only checks of the version tables, and the few repairs the operator CLI may make.
 * The checks leave out the throwaway `validate:` types of validation runs.
 */
@Injectable()
export class CoherenceRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async duplicates(): Promise<AuditDuplicate[]> {
    const rows: { data_type: string; col: 'new_version' | 'new_hash'; value: string; n: string }[] =
      await this.dataSource.query(
        `SELECT data_type, 'new_version' AS col, CAST(new_version AS CHAR) AS value, COUNT(*) AS n
           FROM version_audit WHERE data_type NOT LIKE ?
          GROUP BY data_type, new_version HAVING COUNT(*) > 1
         UNION ALL
         SELECT data_type, 'new_hash' AS col, new_hash AS value, COUNT(*) AS n
           FROM version_audit WHERE data_type NOT LIKE ?
          GROUP BY data_type, new_hash HAVING COUNT(*) > 1`,
        [THROWAWAY_TYPES, THROWAWAY_TYPES],
      );
    return rows.map((r) => ({
      dataType: r.data_type,
      column: r.col,
      value: r.value,
      count: Number(r.n),
    }));
  }

  /** Audit rows whose old version is not the previous row's new version, per type. */
  async gaps(): Promise<AuditGap[]> {
    const rows: { data_type: string; old_version: string; new_version: string }[] =
      await this.dataSource.query(
        `SELECT data_type, old_version, new_version FROM version_audit
          WHERE data_type NOT LIKE ? ORDER BY data_type, new_version`,
        [THROWAWAY_TYPES],
      );
    const gaps: AuditGap[] = [];
    let previous: { type: string; version: string } | undefined;
    for (const row of rows) {
      if (previous?.type === row.data_type && previous.version !== row.old_version) {
        gaps.push({ dataType: row.data_type, expected: previous.version, found: row.old_version });
      }
      previous = { type: row.data_type, version: row.new_version };
    }
    return gaps;
  }

  /** Current rows whose hash is not the one the audit recorded for that version. */
  async hashMismatches(): Promise<HashMismatch[]> {
    const rows: { data_type: string; version: string; hash: string; new_hash: string }[] =
      await this.dataSource.query(
        `SELECT v.data_type, v.version, v.hash, a.new_hash
           FROM shop_data_versions v
           JOIN version_audit a ON a.data_type = v.data_type AND a.new_version = v.version
          WHERE v.hash <> a.new_hash AND v.data_type NOT LIKE ?`,
        [THROWAWAY_TYPES],
      );
    return rows.map((r) => ({
      dataType: r.data_type,
      version: r.version,
      rowHash: r.hash,
      auditHash: r.new_hash,
    }));
  }

  /** Types present in the audit whose version row is gone. */
  async missingRows(): Promise<{ dataType: string; version: string; hash: string }[]> {
    const rows: { data_type: string; version: string; hash: string }[] =
      await this.dataSource.query(
        `SELECT a.data_type, a.new_version AS version, a.new_hash AS hash
         FROM version_audit a
         JOIN (SELECT data_type, MAX(new_version) AS v FROM version_audit GROUP BY data_type) m
           ON m.data_type = a.data_type AND m.v = a.new_version
        WHERE NOT EXISTS (SELECT 1 FROM shop_data_versions s WHERE s.data_type = a.data_type)
          AND a.data_type NOT LIKE ?`,
        [THROWAWAY_TYPES],
      );
    return rows.map((r) => ({ dataType: r.data_type, version: r.version, hash: r.hash }));
  }

  async auditStats(
    dataType: string,
  ): Promise<{ rows: number; distinctHashes: number; distinctVersions: number }> {
    const [row]: { n: string; h: string; v: string }[] = await this.dataSource.query(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT new_hash) AS h, COUNT(DISTINCT new_version) AS v
         FROM version_audit WHERE data_type = ?`,
      [dataType],
    );
    return { rows: Number(row.n), distinctHashes: Number(row.h), distinctVersions: Number(row.v) };
  }

  async restoreHash(dataType: string, version: string, hash: string): Promise<void> {
    await this.dataSource.query(
      'UPDATE shop_data_versions SET hash = ? WHERE data_type = ? AND version = ?',
      [hash, dataType, version],
    );
  }

  async restoreRow(dataType: string, version: string, hash: string): Promise<void> {
    await this.dataSource.query(
      `INSERT IGNORE INTO shop_data_versions (data_type, version, hash, fence_token, updated_at)
       VALUES (?, ?, ?, 0, NOW(6))`,
      [dataType, version, hash],
    );
  }

  /** Removes the throwaway types a validation run created (prefix `validate:`). */
  async removeThrowaway(prefix: string): Promise<void> {
    await this.dataSource.query('DELETE FROM version_audit WHERE data_type LIKE ?', [`${prefix}%`]);
    await this.dataSource.query('DELETE FROM shop_data_versions WHERE data_type LIKE ?', [
      `${prefix}%`,
    ]);
  }
}
