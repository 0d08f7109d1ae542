import { Controller, Get, Header } from '@nestjs/common';
import { Registry } from 'prom-client';
import { InvalidatorMetrics } from '@invalidator/monitoring';
import { RedisReadiness } from '@invalidator/redis';

@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly registry: Registry,
    private readonly metrics: InvalidatorMetrics,
    private readonly redis: RedisReadiness,
  ) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    // Nodes as the cluster sees them at scrape time; a cluster that does not answer keeps the
    // last figure (readiness reports the outage).
    const cluster = await this.redis.cluster().catch(() => null);
    if (cluster) this.metrics.redisClusterNodes.set(cluster.nodes);
    return this.registry.metrics();
  }
}
