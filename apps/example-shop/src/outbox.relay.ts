import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Partitioners, Producer, logLevel } from 'kafkajs';
import { kafkaClient } from '@invalidator/kafka';
import { CatalogRepository } from './catalog.repository';
import { SHOP_CONFIG, ShopConfig } from './shop-config';

/**
 * Relays committed outbox rows to Kafka, oldest first, and marks them sent in the same
 * transaction that locked them. A crash between the send and the mark sends them again: the
 * service's offset ledger applies the resend as a new delivery (one more bump and purge of the
 * same tags, a cache miss, never a stale read), so no change goes unannounced.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly producer: Producer;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly catalog: CatalogRepository,
    @Inject(SHOP_CONFIG) private readonly config: ShopConfig,
  ) {
    const kafka = kafkaClient(config, { clientId: 'example-shop', logLevel: logLevel.NOTHING });
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.connect();
    this.schedule();
  }

  /** Relays until the outbox is empty; answers the rows sent. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const n = await this.catalog.relayBatch(100, async (rows) => {
        const byTopic = new Map<string, { key: string; value: string }[]>();
        for (const row of rows) {
          byTopic.set(row.topic, [
            ...(byTopic.get(row.topic) ?? []),
            { key: row.key, value: row.payload },
          ]);
        }
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      });
      sent += n;
      if (n < 100) return sent;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.drain()
        .then(() => this.catalog.pruneOutbox())
        .catch((error: Error) =>
          this.logger.warn(`outbox relay failed; retrying: ${error.message}`),
        )
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.config.OUTBOX_RELAY_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.producer.disconnect();
  }
}
