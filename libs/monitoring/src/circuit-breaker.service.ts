import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { AlertService } from './alert.service';
import { CIRCUIT_STATE, InvalidatorMetrics } from './metrics';

export type CircuitState = keyof typeof CIRCUIT_STATE;
type Task = () => Promise<unknown>;

/** Decides whether a failed task counts against the error rate; given when the breaker is built. */
export const BREAKER_COUNTS_FAILURE = Symbol('BREAKER_COUNTS_FAILURE');
export type BreakerCountsFailure = (error: unknown) => boolean;

/**
 * The error-rate circuit breaker (opossum): above ERROR_RATE_THRESHOLD over a sliding window
 * with a minimum volume it opens; after a cool-down it lets one trial through (half-open);
 * a success closes it. Listeners (the consumer) pause and resume on its transitions.
 */
@Injectable()
export class CircuitBreakerService implements OnApplicationShutdown {
  private readonly breaker: CircuitBreaker<[Task], unknown>;
  private readonly listeners: ((state: CircuitState) => void)[] = [];
  private lastError = '';
  private readonly logger = new Logger(CircuitBreakerService.name);
  private changed = new Date();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: InvalidatorMetrics,
    private readonly alerts: AlertService,
    @Inject(BREAKER_COUNTS_FAILURE) countsFailure: BreakerCountsFailure,
  ) {
    this.breaker = new CircuitBreaker((task: Task) => task(), {
      // The last bound on one saga attempt, above the statement and lock-wait timeouts inside it.
      timeout: config.BREAKER_TIMEOUT_MS,
      errorThresholdPercentage: config.ERROR_RATE_THRESHOLD * 100,
      rollingCountTimeout: config.BREAKER_WINDOW_MS,
      rollingCountBuckets: 10,
      volumeThreshold: config.BREAKER_MIN_VOLUME,
      resetTimeout: config.BREAKER_COOLDOWN_MS,
      // opossum's filter names the errors it must not count.
      errorFilter: (error: unknown) => !countsFailure(error),
    });
    this.breaker.on('failure', (error: unknown) => {
      this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    });
    this.breaker.on('open', () => {
      const stats = this.breaker.stats;
      void this.alerts.raise({
        kind: 'breaker_open',
        severity: 'CRITICAL',
        message: 'error rate over the threshold; circuit breaker opened and consumption paused',
        correctiveAction:
          'Consumption is paused and nothing is committed. Check MySQL, Redis and Kafka health and the ' +
          'last error; the breaker retries by itself after the cool-down and resumes on success.',
        details: {
          error_rate: stats.fires ? stats.failures / stats.fires : 0,
          threshold: config.ERROR_RATE_THRESHOLD,
          last_error: this.lastError,
        },
      });
      this.transition('open');
    });
    this.breaker.on('halfOpen', () => this.transition('halfOpen'));
    this.breaker.on('close', () => {
      void this.alerts.raise({
        kind: 'breaker_closed',
        severity: 'INFO',
        message: 'trial succeeded; circuit breaker closed and consumption resumed',
        correctiveAction:
          'None needed: the backlog drains by itself. Review the incident that opened it.',
      });
      this.transition('closed');
    });
    this.metrics.circuitState.set(CIRCUIT_STATE.closed);
  }

  onTransition(listener: (state: CircuitState) => void): void {
    this.listeners.push(listener);
  }

  fire<T>(task: () => Promise<T>): Promise<T> {
    return this.breaker.fire(task) as Promise<T>;
  }

  get state(): CircuitState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /** When the breaker last changed state (start-up if it never did). */
  get changedAt(): Date {
    return this.changed;
  }

  /** The breaker's own refusal while open, to tell it from a real failure. */
  static isRefusal(error: unknown): boolean {
    return (error as { code?: unknown } | null)?.code === 'EOPENBREAKER';
  }

  private transition(state: CircuitState): void {
    this.changed = new Date();
    this.metrics.circuitState.set(CIRCUIT_STATE[state]);
    // opossum emits inside fire() and from its reset timer: a listener that throws would leave
    // fire() unsettled or raise an uncaught exception. A listener's failure stays its own.
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch (error) {
        this.logger.error({ err: error, state }, 'circuit breaker listener failed');
      }
    }
  }

  onApplicationShutdown(): void {
    this.breaker.shutdown();
  }
}
