import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { MetricValue } from 'prom-client';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { InvalidatorMetrics, METRIC, SagaStage } from '@invalidator/monitoring';

export const HISTORY_SECONDS = 15 * 60;
/** Stage percentiles are taken over this sliding window of the history. */
export const WINDOW_SECONDS = 60;
/** The stages the dashboard charts (dashboard.js draws the same four). */
const STAGES = ['lock', 'transaction', 'publish', 'purge'] as const satisfies readonly SagaStage[];
type ChartedStage = (typeof STAGES)[number];

/** One second of this instance's figures, as the charts plot them. */
export interface HistoryPoint {
  /** Epoch milliseconds. */
  t: number;
  eventsPerSec: { applied: number; duplicate: number; deadLettered: number };
  sagasPerSec: { success: number; error: number };
  /** p50/p99 per stage over the last WINDOW_SECONDS, in ms; null without sagas in it. */
  stageMs: Record<ChartedStage, { p50: number | null; p99: number | null }>;
  /** Failed saga attempts / all over the breaker's window (BREAKER_WINDOW_MS); null without any. */
  errorRate: number | null;
}

interface Buckets {
  /** Upper bounds, ascending, +Inf last. */
  le: number[];
  cumulative: number[];
}

/** Cumulative counters read from the prom-client metrics at one instant. */
interface Totals {
  t: number;
  events: HistoryPoint['eventsPerSec'];
  sagas: HistoryPoint['sagasPerSec'];
  stages: Record<ChartedStage, Buckets>;
}

const sum = (values: MetricValue<string>[], match: (labels: Record<string, unknown>) => boolean) =>
  values.filter((v) => match(v.labels)).reduce((total, v) => total + v.value, 0);

/** The q-quantile of the observations between two cumulative bucket readings, interpolated. */
export function quantileMs(before: Buckets, after: Buckets, q: number): number | null {
  const deltas = after.cumulative.map((c, i) => c - (before.cumulative[i] ?? 0));
  const total = deltas[deltas.length - 1] ?? 0;
  if (total <= 0) return null;
  const target = q * total;
  for (let i = 0; i < deltas.length; i++) {
    if (deltas[i] < target) continue;
    const upper = after.le[i];
    const lower = i === 0 ? 0 : after.le[i - 1];
    // Beyond the last finite bound: report that bound, the histogram knows no more.
    if (!Number.isFinite(upper)) return Math.round(lower * 1000 * 100) / 100;
    const below = i === 0 ? 0 : deltas[i - 1];
    const inBucket = deltas[i] - below;
    const fraction = inBucket > 0 ? (target - below) / inBucket : 1;
    return Math.round((lower + (upper - lower) * fraction) * 1000 * 100) / 100;
  }
  return null;
}

/**
 * Samples this instance's prom-client metrics once a second and keeps 15 minutes of them,
 * so the charts read the same counters /metrics exposes: no bookkeeping of its own.
 */
@Injectable()
export class MetricsHistory implements OnModuleInit, OnModuleDestroy {
  private readonly totals: Totals[] = [];
  private readonly points: HistoryPoint[] = [];
  private timer?: NodeJS.Timeout;
  private readonly listeners = new Set<(point: HistoryPoint) => void>();
  /** The error rate's window: the breaker's, so the chart and the breaker judge the same rate. */
  readonly errorWindowSeconds: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: InvalidatorMetrics,
  ) {
    this.errorWindowSeconds = Math.min(
      Math.max(Math.round(config.BREAKER_WINDOW_MS / 1000), 1),
      HISTORY_SECONDS,
    );
  }

  onModuleInit(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Called with each new point, once a second. */
  onPoint(listener: (point: HistoryPoint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  history(): HistoryPoint[] {
    return [...this.points];
  }

  latest(): HistoryPoint | undefined {
    return this.points[this.points.length - 1];
  }

  private async sample(): Promise<void> {
    const now = await this.read();
    const previous = this.totals[this.totals.length - 1];
    this.totals.push(now);
    if (this.totals.length > Math.max(WINDOW_SECONDS, this.errorWindowSeconds) + 1) {
      this.totals.shift();
    }
    if (!previous) return;
    const seconds = Math.max((now.t - previous.t) / 1000, 0.001);
    const rate = (a: number, b: number) => Math.round(((a - b) / seconds) * 100) / 100;
    const windowStart = this.totals[Math.max(this.totals.length - 1 - WINDOW_SECONDS, 0)];
    const errorStart = this.totals[Math.max(this.totals.length - 1 - this.errorWindowSeconds, 0)];
    const errorSagas =
      now.sagas.success + now.sagas.error - errorStart.sagas.success - errorStart.sagas.error;
    const point: HistoryPoint = {
      t: now.t,
      eventsPerSec: {
        applied: rate(now.events.applied, previous.events.applied),
        duplicate: rate(now.events.duplicate, previous.events.duplicate),
        deadLettered: rate(now.events.deadLettered, previous.events.deadLettered),
      },
      sagasPerSec: {
        success: rate(now.sagas.success, previous.sagas.success),
        error: rate(now.sagas.error, previous.sagas.error),
      },
      stageMs: Object.fromEntries(
        STAGES.map((stage) => [
          stage,
          {
            p50: quantileMs(windowStart.stages[stage], now.stages[stage], 0.5),
            p99: quantileMs(windowStart.stages[stage], now.stages[stage], 0.99),
          },
        ]),
      ) as HistoryPoint['stageMs'],
      errorRate: errorSagas > 0 ? (now.sagas.error - errorStart.sagas.error) / errorSagas : null,
    };
    this.points.push(point);
    if (this.points.length > HISTORY_SECONDS) this.points.shift();
    for (const listener of this.listeners) listener(point);
  }

  private async read(): Promise<Totals> {
    const events = (await this.metrics.events.get()).values;
    const sagas = (await this.metrics.sagaDuration.get()).values.filter(
      (v) => v.metricName === `${METRIC.sagaDuration}_count`,
    );
    const stageValues: MetricValue<string>[] = (
      await this.metrics.stageDuration.get()
    ).values.filter((v) => v.metricName === `${METRIC.stageDuration}_bucket`);
    const stages = Object.fromEntries(
      STAGES.map((stage) => {
        const buckets = stageValues
          .filter((v) => v.labels.stage === stage)
          .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), n: v.value }))
          .sort((a, b) => a.le - b.le);
        return [stage, { le: buckets.map((b) => b.le), cumulative: buckets.map((b) => b.n) }];
      }),
    ) as Totals['stages'];
    return {
      t: Date.now(),
      events: {
        applied: sum(events, (l) => l.outcome === 'applied'),
        duplicate: sum(events, (l) => l.outcome === 'duplicate'),
        deadLettered: sum(events, (l) => l.outcome === 'dead_lettered'),
      },
      sagas: {
        success: sum(sagas, (l) => l.outcome === 'success'),
        error: sum(sagas, (l) => l.outcome === 'error'),
      },
      stages,
    };
  }
}
