import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { StalenessSampler } from '@invalidator/cache';
import { VersionAuditRepository } from '@invalidator/versioning';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { InvalidatorMetrics } from '@invalidator/monitoring';
import { IntervalJob } from './interval-job';

/** Every STALENESS_SAMPLE_INTERVAL_MS: the CLI's check-staleness sample, as gauges on /metrics. */
@Injectable()
export class StalenessScheduler extends IntervalJob {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sampler: StalenessSampler,
    private readonly audit: VersionAuditRepository,
    private readonly metrics: InvalidatorMetrics,
    @InjectPinoLogger('StalenessScheduler') private readonly logger: PinoLogger,
  ) {
    super(config.STALENESS_SAMPLE_INTERVAL_MS);
  }

  private readonly bumpedAt = async (type: string, version: number) =>
    (await this.audit.bumpedAt(type, version))?.getTime();

  async runOnce(): Promise<void> {
    try {
      const sample = await this.sampler.sample(this.config.STALENESS_SAMPLES, this.bumpedAt);
      this.metrics.cacheStaleRatio.set(sample.ratio);
      this.metrics.cacheFreshnessNines.set(sample.nines);
      this.metrics.cacheStalenessSampled.set(sample.sampled);
    } catch (error) {
      this.logger.warn({ err: error }, 'staleness sample failed; will retry at the next interval');
    }
  }
}
