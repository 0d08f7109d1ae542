import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export type IncidentSeverity = 'WARNING' | 'CRITICAL' | 'INFO';

export interface NewIncident {
  kind: string;
  severity: IncidentSeverity;
  message: string;
  correctiveAction: string;
  details?: Record<string, unknown>;
}

export interface Incident extends NewIncident {
  id: number;
  instance: string;
  createdAt: string;
}

interface IncidentRow {
  id: string;
  kind: string;
  severity: IncidentSeverity;
  message: string;
  corrective_action: string;
  details: string;
  instance: string;
  created_at: Date;
}

@Injectable()
export class IncidentRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(incident: NewIncident, instance: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO incidents (kind, severity, message, corrective_action, details, instance, created_at)
       VALUES (?, ?, ?, ?, ?, ?, NOW(6))`,
      [
        incident.kind,
        incident.severity,
        incident.message.slice(0, 1024),
        incident.correctiveAction.slice(0, 1024),
        JSON.stringify(incident.details ?? {}),
        instance,
      ],
    );
  }

  async since(hours: number): Promise<Incident[]> {
    const rows: IncidentRow[] = await this.dataSource.query(
      `SELECT id, kind, severity, message, corrective_action, details, instance, created_at
       FROM incidents WHERE created_at >= NOW(6) - INTERVAL ? SECOND ORDER BY id DESC LIMIT 1000`,
      [Math.round(hours * 3600)],
    );
    return rows.map(toIncident);
  }

  /** The newest incidents, whatever their age. */
  async latest(limit: number): Promise<Incident[]> {
    const rows: IncidentRow[] = await this.dataSource.query(
      `SELECT id, kind, severity, message, corrective_action, details, instance, created_at
       FROM incidents ORDER BY id DESC LIMIT ?`,
      [limit],
    );
    return rows.map(toIncident);
  }
}

function toIncident(r: IncidentRow): Incident {
  return {
    id: Number(r.id),
    kind: r.kind,
    severity: r.severity,
    message: r.message,
    correctiveAction: r.corrective_action,
    details: JSON.parse(r.details) as Record<string, unknown>,
    instance: r.instance,
    createdAt: r.created_at.toISOString(),
  };
}
