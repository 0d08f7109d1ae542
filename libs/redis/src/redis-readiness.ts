import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from './redis.provider';
import { ClusterHealth, RedisClient, clusterHealth } from './redis-topology';

/** Whether Redis answers: what readiness and a one-shot command wait for. */
@Injectable()
export class RedisReadiness {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /**
   * Waits for the connection: the client fails commands at once while disconnected (no offline
   * queue), which suits the saga's retries but not a one-shot operator command.
   */
  async connected(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Redis not ready after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Redis answers (readiness); a cluster only with every slot served. */
  async ping(): Promise<void> {
    await this.redis.ping();
    const cluster = await clusterHealth(this.redis);
    if (cluster && !cluster.ok) throw new Error('redis cluster: not all slots covered');
  }

  /** The cluster's state and the nodes it knows; undefined on a single server. */
  cluster(): Promise<ClusterHealth | undefined> {
    return clusterHealth(this.redis);
  }
}
