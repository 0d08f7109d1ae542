import { Inject, Injectable } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { CircuitBreakerService, InvalidatorMetrics } from '@invalidator/monitoring';
import { InvalidationSaga } from '../saga/invalidation.saga';
import { BatchAbandonedError } from '../saga/saga-errors';
import { SAGA_LOG } from '../saga/saga-log';
import { IncomingBatch, IncomingMessage } from './incoming-batch';
import { KAFKA } from './kafka.provider';

/** At most this many messages go into one saga, so a saga stays well under the session timeout. */
const MAX_EVENTS_PER_SAGA = 500;

/**
 * Nest's stock ServerKafka has no batch handler and commits on its own, so we own the kafkajs
 * consumer here: eachBatch, offsets committed by hand after the saga, heartbeats during it,
 * group membership tracked for readiness, and a drain on shutdown.
 */
@Injectable()
export class KafkaBatchTransport extends Server implements CustomTransportStrategy {
  private readonly consumer: Consumer;
  /** Partitions with a consumer-lag label set, so that a rebalance can remove revoked ones. */
  private readonly lagLabels = new Map<string, { topic: string; partition: string }>();
  private joined = false;
  private closing = false;
  /** Why the consumer is gone for good (kafkajs will not restart it): liveness fails. */
  private deadReason?: string;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly saga: InvalidationSaga,
    private readonly metrics: InvalidatorMetrics,
    breaker: CircuitBreakerService,
    @InjectPinoLogger('KafkaBatchTransport') private readonly log: PinoLogger,
  ) {
    super();
    // Readiness alone does not stop Kafka deliveries: the breaker pauses the consumer itself.
    breaker.onTransition((state) => (state === 'open' ? this.pause() : this.resume()));
    this.consumer = kafka.consumer({
      groupId: config.KAFKA_GROUP_ID,
      sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: Math.min(3000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 5)),
      maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.forgetRevokedLag(payload.memberAssignment);
    });
    for (const event of [CRASH, STOP, DISCONNECT])
      this.consumer.on(event, () => (this.joined = false));
    // kafkajs stops the consumer before it reports the crash and whether it will restart it.
    this.consumer.on(STOP, () => {
      if (!this.closing) this.deadReason ??= 'consumer stopped without a stop requested';
    });
    this.consumer.on(CRASH, ({ payload }) => {
      if (payload.restart) this.deadReason = undefined;
      else this.deadReason = `consumer crashed and will not restart: ${payload.error.name}`;
    });
  }

  private topics(): { topic: string }[] {
    return [this.config.KAFKA_TOPIC_PRODUCT, this.config.KAFKA_TOPIC_CATEGORY].map((topic) => ({
      topic,
    }));
  }

  /** A partition taken away by a rebalance is another member's to report: drop its lag. */
  private forgetRevokedLag(assignment: Record<string, number[]>): void {
    for (const [key, labels] of this.lagLabels) {
      if (assignment[labels.topic]?.includes(Number(labels.partition))) continue;
      this.metrics.consumerLag.remove(labels);
      this.lagLabels.delete(key);
    }
  }

  private pause(): void {
    this.consumer.pause(this.topics());
    this.log.warn({ topics: this.topics() }, 'consumption paused by the circuit breaker');
  }

  private resume(): void {
    this.consumer.resume(this.topics());
    this.log.info({ topics: this.topics() }, 'consumption resumed');
  }

  /** True while the consumer is a member of its group: one of the readiness conditions. */
  isJoined(): boolean {
    return this.joined;
  }

  /**
   * Why the consumer will never consume again (a crash kafkajs does not restart, or a stop
   * nobody asked for), or undefined. Only a restart cures it, so liveness reports it.
   */
  deadConsumer(): string | undefined {
    return this.deadReason;
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.ensureTopics();
      await this.consumer.connect();
      await this.consumer.subscribe({
        topics: [this.config.KAFKA_TOPIC_PRODUCT, this.config.KAFKA_TOPIC_CATEGORY],
        fromBeginning: true,
      });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    // disconnect() waits for the batch in flight, which commits or is abandoned uncommitted.
    await this.consumer.disconnect();
  }

  on(): never {
    throw new Error(
      'KafkaBatchTransport dispatches to the invalidation saga, not to event handlers',
    );
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async ensureTopics(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const wanted = [
        this.config.KAFKA_TOPIC_PRODUCT,
        this.config.KAFKA_TOPIC_CATEGORY,
        this.config.KAFKA_TOPIC_DLQ,
      ].filter((t) => !existing.has(t));
      if (wanted.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: wanted.map((topic) => ({
            topic,
            numPartitions: this.config.KAFKA_TOPIC_PARTITIONS,
            replicationFactor: this.config.KAFKA_TOPIC_REPLICATION_FACTOR,
          })),
        });
      }
    } finally {
      await admin.disconnect();
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const isActive = () => isRunning() && !isStale();
    const lagLabels = { topic: batch.topic, partition: String(batch.partition) };
    this.lagLabels.set(`${lagLabels.topic}/${lagLabels.partition}`, lagLabels);
    this.metrics.consumerLag.set(lagLabels, Number(batch.offsetLag()));
    for (let start = 0; start < batch.messages.length; start += MAX_EVENTS_PER_SAGA) {
      if (!isActive()) return;
      const chunk = batch.messages.slice(start, start + MAX_EVENTS_PER_SAGA);
      const last = chunk[chunk.length - 1].offset;
      const incoming: IncomingBatch = {
        messages: chunk.map((m) => toIncoming(batch.topic, batch.partition, m)),
        heartbeat,
        isActive,
        commit: async () => {
          resolveOffset(last);
          // The committed offset is the next one to read, not the last one handled.
          const offset = (BigInt(last) + 1n).toString();
          await this.consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset },
          ]);
        },
      };
      try {
        await this.saga.handle(incoming);
      } catch (error) {
        if (error instanceof BatchAbandonedError) {
          this.log.warn({ event_count: error.eventIds.length }, SAGA_LOG.abandoned);
          return;
        }
        // A failed commit after a finished saga: redelivery is harmless (the inbox skips it).
        this.log.error(
          { err: error, topic: batch.topic, partition: batch.partition },
          SAGA_LOG.commitFailed,
        );
        return;
      }
      await heartbeat().catch(() => undefined);
    }
  }
}

function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    timestamp: message.timestamp,
  };
}
