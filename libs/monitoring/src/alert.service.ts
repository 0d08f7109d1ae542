import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { INSTANCE_ID } from '@invalidator/config';
import { IncidentRepository, NewIncident } from './incident.repository';
import { InvalidatorMetrics } from './metrics';

const MAX_PENDING = 1000;
const FLUSH_INTERVAL_MS = 5000;

/**
 * Raises an alert: a log line at its severity, the alert counter, and a durable incident with
 * its corrective action. Incidents that cannot be written (MySQL away, often the very cause)
 * are kept and written once MySQL answers again.
 */
@Injectable()
export class AlertService implements OnApplicationShutdown {
  private pending: NewIncident[] = [];
  private flushing?: Promise<void>;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly incidents: IncidentRepository,
    private readonly metrics: InvalidatorMetrics,
    @InjectPinoLogger('AlertService') private readonly logger: PinoLogger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS).unref();
  }

  async raise(incident: NewIncident): Promise<void> {
    this.metrics.alerts.inc({ kind: incident.kind });
    const line = {
      alert: incident.kind,
      severity: incident.severity,
      corrective_action: incident.correctiveAction,
      ...incident.details,
    };
    if (incident.severity === 'CRITICAL') this.logger.fatal(line, incident.message);
    else if (incident.severity === 'WARNING') this.logger.warn(line, incident.message);
    else this.logger.info(line, incident.message);
    this.pending.push(incident);
    if (this.pending.length > MAX_PENDING) this.pending.shift();
    await this.flush();
  }

  private flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      try {
        await this.incidents.insert(this.pending[0], INSTANCE_ID);
        this.pending.shift();
      } catch {
        return;
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
