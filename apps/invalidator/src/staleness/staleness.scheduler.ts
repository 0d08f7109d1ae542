import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { StalenessSample, StalenessSampler } from '@invalidator/cache';
import { VersionAuditRepository } from '@invalidator/versioning';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { InvalidatorMetrics } from '@invalidator/monitoring';

/** Every STALENESS_SAMPLE_INTERVAL_MS: the CLI's check-staleness sample, as gauges on /metrics. */
@Injectable()
export class StalenessScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sampler: StalenessSampler,
    private readonly audit: VersionAuditRepository,
    private readonly metrics: InvalidatorMetrics,
    @InjectPinoLogger('StalenessScheduler') private readonly logger: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.STALENESS_SAMPLE_INTERVAL_MS === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.sampleOnce().finally(() => (this.running = undefined));
    }, this.config.STALENESS_SAMPLE_INTERVAL_MS).unref();
  }

  private readonly bumpedAt = async (type: string, version: number) =>
    (await this.audit.bumpedAt(type, version))?.getTime();

  async sampleOnce(): Promise<StalenessSample | undefined> {
    try {
      const sample = await this.sampler.sample(this.config.STALENESS_SAMPLES, this.bumpedAt);
      this.metrics.cacheStaleRatio.set(sample.ratio);
      this.metrics.cacheFreshnessNines.set(sample.nines);
      this.metrics.cacheStalenessSampled.set(sample.sampled);
      return sample;
    } catch (error) {
      this.logger.warn({ err: error }, 'staleness sample failed; will retry at the next interval');
      return undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
