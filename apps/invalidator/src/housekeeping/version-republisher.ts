import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { VersionPublisher } from '@invalidator/cache';
import { REDIS_CLIENT, RedisClient, isCluster } from '@invalidator/redis';
import { backoffDelay, sleep } from '@invalidator/locking';
import { VersionsBehind } from '@invalidator/invalidation';
import { globalVersionString } from '@invalidator/versioning';

export const REPUBLISH_LOG = {
  done: 'redis ready; versions republished from MySQL',
  failed: 'republishing versions after redis (re)connect failed; retrying with back-off',
} as const;

/**
 * Redis may come back empty (a restart without persistence, a failover to a replica that
 * lagged): the web tier would then find no versions until the next event. On every (re)connect
 * all versions and `inertia.data.version` are republished from MySQL through the saga's
 * compare-and-set script, so this can never move a key behind what a saga already published.
 * A Redis Cluster stays `ready` through a failover: there a node leaving the client's pool (a
 * master gone; the run retries with back-off until its replica has taken over) or joining it
 * (a restarted node) triggers the same run. Before publishing, Redis is compared with MySQL:
 * versions that went back in MySQL (a restored backup, a lagging replica) are moved past what
 * Redis holds (VersionsBehind), so start-up and every republish mend them.
 */
@Injectable()
export class VersionRepublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly onReady = () => this.trigger();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly versionsBehind: VersionsBehind,
    private readonly publisher: VersionPublisher,
    @InjectPinoLogger('VersionRepublisher') private readonly logger: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.redis.on('ready', this.onReady);
    if (isCluster(this.redis)) this.redis.on('+node', this.onReady).on('-node', this.onReady);
    if (this.redis.status === 'ready') this.trigger();
  }

  /** One run at a time; a `ready` during a run asks for one more run after it. */
  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runUntilDone().finally(() => (this.running = undefined));
  }

  /** Resolves when no republish is running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async runUntilDone(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      this.again = false;
      try {
        const count = await this.republishOnce();
        this.logger.info({ versions: count }, REPUBLISH_LOG.done);
        if (!this.again) return;
        attempt = -1;
      } catch (error) {
        this.logger.warn({ err: error, attempt }, REPUBLISH_LOG.failed);
        // Redis gone again: its next `ready` starts a fresh run.
        if (this.redis.status !== 'ready') return;
        await sleep(
          backoffDelay(attempt, this.config.SAGA_RETRY_DELAY_MS, this.config.RETRY_MAX_DELAY_MS),
        );
      }
    }
  }

  private async republishOnce(): Promise<number> {
    const { rows } = await this.versionsBehind.execute({ actor: 'republisher' });
    await this.publisher.publish(rows, globalVersionString(rows));
    return rows.length;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.redis.off('ready', this.onReady);
    this.redis.off('+node', this.onReady).off('-node', this.onReady);
    await this.idle();
  }
}
