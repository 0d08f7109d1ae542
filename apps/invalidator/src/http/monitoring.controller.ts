import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import {
  CircuitBreakerService,
  IncidentRepository,
  InvalidatorMetrics,
  SagaStats,
} from '@invalidator/monitoring';

const MAX_HOURS = 24 * 90;

@Controller('monitoring')
export class MonitoringController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly stats: SagaStats,
    private readonly breaker: CircuitBreakerService,
    private readonly metrics: InvalidatorMetrics,
    private readonly incidents: IncidentRepository,
  ) {}

  /** The current figures of this instance; Prometheus has the history. */
  @Get('metrics')
  async figures() {
    const alerts = (await this.metrics.alerts.get()).values;
    return {
      ...this.stats.figures(),
      breaker: this.breaker.state,
      alerts: Object.fromEntries(alerts.map((v) => [String(v.labels.kind), v.value])),
      thresholds: {
        performanceMs: this.config.PERFORMANCE_THRESHOLD_MS,
        errorRate: this.config.ERROR_RATE_THRESHOLD,
      },
    };
  }

  /** Incidents of every instance (they are stored in MySQL), newest first. */
  @Get('incidents')
  async recent(@Query('hours') hours?: string) {
    const window = hours === undefined ? 24 : Number(hours);
    if (!Number.isFinite(window) || window <= 0 || window > MAX_HOURS) {
      throw new BadRequestException(`hours must be a number in (0, ${MAX_HOURS}]`);
    }
    return { hours: window, incidents: await this.incidents.since(window) };
  }
}
