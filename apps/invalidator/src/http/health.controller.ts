import { Controller, Get, OnModuleDestroy } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { RedisReadiness } from '@invalidator/redis';
import { CircuitBreakerService } from '@invalidator/monitoring';
import { KafkaBatchTransport } from '../kafka/kafka-batch.transport';

/** A process whose event loop stalls this long cannot serve anything: restart it. */
const MAX_EVENT_LOOP_DELAY_MS = 2000;

@Controller('health')
export class HealthController implements OnModuleDestroy {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly mysql: TypeOrmHealthIndicator,
    private readonly transport: KafkaBatchTransport,
    private readonly breaker: CircuitBreakerService,
    private readonly redis: RedisReadiness,
  ) {
    this.loop.enable();
  }

  /** The process itself only: never a dependency, so a store outage never restarts pods. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.eventLoop(), () => this.consumer()]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const kafka = this.indicators.check('kafka');
    return this.health.check([
      () => (this.transport.isJoined() ? kafka.up() : kafka.down('consumer not in its group')),
      () => this.mysql.pingCheck('mysql', { timeout: 1000 }),
      async () => {
        const redis = this.indicators.check('redis');
        try {
          await this.redis.ping();
          return redis.up();
        } catch {
          // A short fixed reason: the client's error text may name hosts, ports or credentials.
          return redis.down('redis: unavailable');
        }
      },
      () => {
        const breaker = this.indicators.check('breaker');
        const state = this.breaker.state;
        return state === 'open' ? breaker.down({ state }) : breaker.up({ state });
      },
    ]);
  }

  private eventLoop() {
    const indicator = this.indicators.check('event_loop');
    const maxDelayMs = Math.round(this.loop.max / 1e6);
    this.loop.reset();
    return maxDelayMs < MAX_EVENT_LOOP_DELAY_MS
      ? indicator.up({ max_delay_ms: maxDelayMs })
      : indicator.down({ max_delay_ms: maxDelayMs });
  }

  /** Not a dependency check: a consumer kafkajs gave up on never comes back by itself. */
  private consumer() {
    const consumer = this.indicators.check('kafka_consumer');
    const dead = this.transport.deadConsumer();
    return dead === undefined ? consumer.up() : consumer.down(dead);
  }

  onModuleDestroy(): void {
    this.loop.disable();
  }
}
