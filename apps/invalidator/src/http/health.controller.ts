import { Controller, Get, Inject } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import Redis from 'ioredis';
import { REDIS_CLIENT } from '@invalidator/cache';
import { KafkaBatchTransport } from '../kafka/kafka-batch.transport';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly mysql: TypeOrmHealthIndicator,
    private readonly transport: KafkaBatchTransport,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  /** The process answers: no dependency is checked, so a store outage never restarts pods. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const kafka = this.indicators.check('kafka');
        return this.transport.isJoined() ? kafka.up() : kafka.down('consumer not in its group');
      },
      () => this.mysql.pingCheck('mysql', { timeout: 1000 }),
      async () => {
        const redis = this.indicators.check('redis');
        try {
          await this.redis.ping();
          return redis.up();
        } catch (error) {
          return redis.down((error as Error).message);
        }
      },
    ]);
  }
}
