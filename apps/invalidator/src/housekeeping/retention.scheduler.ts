import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { sleep } from '@invalidator/locking';
import { InvalidatorMetrics } from '@invalidator/monitoring';
import { RETAINED_TABLES, RetainedTable, RetentionRepository } from '@invalidator/versioning';
import { IntervalJob } from './interval-job';

const HOUR_MS = 3600 * 1000;
/** A breath between chunks, so a large first prune never crowds out the sagas. */
const CHUNK_PAUSE_MS = 20;

/** Every RETENTION_INTERVAL_MS: delete rows past their window, chunk by chunk, table by table. */
@Injectable()
export class RetentionScheduler extends IntervalJob {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly retention: RetentionRepository,
    private readonly metrics: InvalidatorMetrics,
    @InjectPinoLogger('RetentionScheduler') private readonly logger: PinoLogger,
  ) {
    super(config.RETENTION_INTERVAL_MS);
  }

  /** The window of each table, in milliseconds. */
  windowMs(table: RetainedTable['table']): number {
    switch (table) {
      case 'applied_batches':
      case 'processed_events':
        return this.config.INBOX_RETENTION_HOURS * HOUR_MS;
      case 'version_audit':
        return this.config.AUDIT_RETENTION_DAYS * 24 * HOUR_MS;
      case 'incidents':
        return this.config.INCIDENT_RETENTION_DAYS * 24 * HOUR_MS;
    }
  }

  async runOnce(): Promise<void> {
    for (const retained of RETAINED_TABLES) {
      const cutoff = new Date(Date.now() - this.windowMs(retained.table));
      try {
        for (;;) {
          if (this.stopping) return;
          const rows = await this.retention.pruneChunk(
            retained,
            cutoff,
            this.config.RETENTION_CHUNK_ROWS,
          );
          if (rows > 0) this.metrics.rowsPruned.inc({ table: retained.table }, rows);
          if (rows < this.config.RETENTION_CHUNK_ROWS) break;
          await sleep(CHUNK_PAUSE_MS);
        }
      } catch (error) {
        this.logger.warn(
          { err: error, table: retained.table },
          'retention prune failed; will retry at the next interval',
        );
      }
    }
  }
}
