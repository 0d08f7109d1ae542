import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { LockSweeper } from '@invalidator/locking';
import { AlertService } from '@invalidator/monitoring';
import { VersionRepository } from '@invalidator/versioning';
import { IntervalJob } from './interval-job';

/** Every LOCK_SWEEP_INTERVAL_MS: remove stuck lock keys of the known types, each with an incident. */
@Injectable()
export class LockSweepScheduler extends IntervalJob {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly sweeper: LockSweeper,
    private readonly versions: VersionRepository,
    private readonly alerts: AlertService,
    @InjectPinoLogger('LockSweepScheduler') private readonly logger: PinoLogger,
  ) {
    super(config.LOCK_SWEEP_INTERVAL_MS);
  }

  async runOnce(): Promise<void> {
    try {
      const dataTypes = (await this.versions.readAll()).map((r) => r.dataType);
      for (const lock of await this.sweeper.sweep(dataTypes)) {
        await this.alerts.raise({
          kind: 'stuck_lock',
          severity: 'WARNING',
          message: `stuck lock ${lock.key} removed (${lock.reason})`,
          correctiveAction:
            lock.reason === 'no_ttl'
              ? 'Removed a lock key without expiry. Find the client that wrote it with SET and no PX; ' +
                'only the Redlock scripts may write lock keys.'
              : `Removed a lock key whose TTL (${lock.ttlMs} ms) exceeds the longest LOCK_TTL_MS any ` +
                'instance may use; find the client that set it.',
          details: { key: lock.key, reason: lock.reason, ttl_ms: lock.ttlMs },
        });
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'stuck-lock sweep failed; will retry at the next interval');
    }
  }
}
