import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** The latest bump of one data type, as the audit recorded it. */
export interface LastBump {
  dataType: string;
  version: bigint;
  actor: string;
  at: Date;
}

interface LastBumpRow {
  data_type: string;
  new_version: string;
  actor: string;
  created_at: Date;
}

/** Read-only views of `version_audit` for monitoring (the writes stay in VersionRepository). */
@Injectable()
export class VersionAuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** When the bump to `version` of a type committed, or undefined when the audit has no row. */
  async bumpedAt(dataType: string, version: number): Promise<Date | undefined> {
    const rows: { created_at: Date }[] = await this.dataSource.query(
      'SELECT created_at FROM version_audit WHERE data_type = ? AND new_version = ?',
      [dataType, version],
    );
    return rows[0]?.created_at;
  }

  /** Each type's newest audit row; MAX over the unique (data_type, new_version) index. */
  async lastBumps(): Promise<LastBump[]> {
    const rows: LastBumpRow[] = await this.dataSource.query(
      `SELECT a.data_type, a.new_version, a.actor, a.created_at
       FROM version_audit a
       JOIN (SELECT data_type, MAX(new_version) AS new_version FROM version_audit GROUP BY data_type) m
         ON m.data_type = a.data_type AND m.new_version = a.new_version
       ORDER BY a.data_type`,
    );
    return rows.map((r) => ({
      dataType: r.data_type,
      version: BigInt(r.new_version),
      actor: r.actor,
      at: r.created_at,
    }));
  }
}
