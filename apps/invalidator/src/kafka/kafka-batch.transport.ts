import { Inject, Injectable } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { CircuitBreakerService, InvalidatorMetrics } from '@invalidator/monitoring';
import {
  BatchCoalescer,
  BatchRevokedError,
  BatchSupersededError,
  ConsumeBatch,
  IncomingBatch,
  IncomingMessage,
  SAGA_LOG,
  heartbeatIntervalMs,
  partitionKey,
} from '@invalidator/invalidation';
import { BreakerPause } from './breaker-pause';
import { KAFKA } from './kafka.provider';
import { isCoordinatorNotReady } from './kafka-log';
import { TopicProvisioning, consumedTopics } from './kafka-topics';
import { OffsetCommits } from './offset-commits';

export const KAFKA_LOG = {
  crashed: 'consumer crashed',
  coordinatorNotReady:
    "consumer still joining its group: the group's coordinator is not ready; kafkajs retries",
} as const;

/**
 * The adapter between kafkajs and ConsumeBatch (Nest's stock ServerKafka has no batch handler
 * and commits on its own): the consumer's lifecycle (group membership for readiness, a drain on
 * shutdown), chunking and back-pressure, and the rewind of a partition whose batch failed. The
 * use case commits through the batch it is handed (IncomingBatch.commit).
 */
@Injectable()
export class KafkaBatchTransport extends Server implements CustomTransportStrategy {
  private readonly consumer: Consumer;
  /** Partitions with a consumer-lag label set, so that a rebalance can remove revoked ones. */
  private readonly lagLabels = new Map<string, { topic: string; partition: string }>();
  private joined = false;
  /** Joined once: a coordinator not ready after that is worth a warning, before it is joining. */
  private everJoined = false;
  private closing = false;
  private closed?: Promise<void>;
  /** Why the consumer is gone for good (kafkajs will not restart it): liveness fails. */
  private deadReason?: string;
  private readonly pause: BreakerPause;
  private readonly consumedTopics: string[];
  /** The partitions of one fetch go into one saga (at most SAGA_MAX_EVENTS events). */
  private readonly coalescer: BatchCoalescer;
  /** Failed batches' partitions, sought back to their lowest failed offset on the next turn. */
  private readonly seeks = new Map<
    string,
    { topic: string; partition: number; offset: string; isActive: () => boolean }
  >();
  private seekSoon?: NodeJS.Immediate;
  /** This member's partitions since its last join (undefined before the first). */
  private assignment?: Record<string, number[]>;
  /** One commit request in flight; the sagas done meanwhile share the next one. */
  private readonly commits = new OffsetCommits(
    (offsets) => this.consumer.commitOffsets(offsets),
    (topic, partition) => this.owns(topic, partition),
  );

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    consumeBatch: ConsumeBatch,
    private readonly metrics: InvalidatorMetrics,
    breaker: CircuitBreakerService,
    @InjectPinoLogger('KafkaBatchTransport') private readonly log: PinoLogger,
  ) {
    super();
    this.consumedTopics = consumedTopics(config);
    this.coalescer = new BatchCoalescer(
      (b) => consumeBatch.apply(b),
      config.SAGA_MAX_EVENTS,
      (b) => consumeBatch.prepare(b),
    );
    this.consumer = kafka.consumer({
      groupId: config.KAFKA_GROUP_ID,
      sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: heartbeatIntervalMs(config.KAFKA_SESSION_TIMEOUT_MS),
      maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    const topics = this.consumedTopics.map((topic) => ({ topic }));
    this.pause = new BreakerPause(this.consumer, topics, log, breaker);
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.everJoined = true;
      this.assignment = payload.memberAssignment;
      this.forgetRevokedLag(payload.memberAssignment);
      this.log.info({ member_id: payload.memberId }, 'consumer joined its group');
      this.pause.joined();
    });
    for (const event of [CRASH, STOP, DISCONNECT])
      this.consumer.on(event, () => (this.joined = false));
    // kafkajs stops the consumer before it reports the crash and whether it will restart it.
    this.consumer.on(STOP, () => {
      if (!this.closing) this.deadReason ??= 'consumer stopped without a stop requested';
    });
    this.consumer.on(CRASH, ({ payload }) => {
      const { error, restart } = payload;
      if (restart && isCoordinatorNotReady(error))
        // Joining: kafkajs restarts the consumer until the coordinator has loaded the group.
        this.log[this.everJoined ? 'warn' : 'info'](
          { err: error, restart },
          KAFKA_LOG.coordinatorNotReady,
        );
      else this.log.error({ err: error, restart }, KAFKA_LOG.crashed);
      if (payload.restart) this.deadReason = undefined;
      else this.deadReason = `consumer crashed and will not restart: ${payload.error.name}`;
    });
  }

  /** A partition taken away by a rebalance is another member's to report: drop its lag. */
  private forgetRevokedLag(assignment: Record<string, number[]>): void {
    for (const [key, labels] of this.lagLabels) {
      if (assignment[labels.topic]?.includes(Number(labels.partition))) continue;
      this.metrics.consumerLag.remove(labels);
      this.lagLabels.delete(key);
    }
  }

  /** Whether the partition was assigned to this member at its last join. */
  private owns(topic: string, partition: number): boolean {
    return this.assignment?.[topic]?.includes(partition) ?? this.assignment === undefined;
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
      await new TopicProvisioning(this.kafka, this.config).ensure();
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: this.consumedTopics, fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every partition of a fetch at once, so that the coalescer can merge them.
        partitionsConsumedConcurrently: this.config.KAFKA_PARTITIONS_CONCURRENCY,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Once: the shutdown calls it first (to leave the group), Nest again when it closes the app. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      // The saga in flight commits or is abandoned uncommitted; waiting batches are dropped
      // (resolved but not committed: the next owner of the partition fetches them again).
      await this.coalescer.close();
      await this.consumer.disconnect();
    })();
    return this.closed;
  }

  on(): never {
    throw new Error('KafkaBatchTransport dispatches to ConsumeBatch, not to event handlers');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    // Stopping ends a saga at its next check, as kafkajs' own stop would: one retrying through
    // an outage gives up (uncommitted, fetched again) instead of holding the shutdown.
    const isActive = () => isRunning() && !isStale() && !this.closing;
    const heartbeat = () =>
      payload.heartbeat().catch((error: unknown) => {
        throw isRebalance(error) ? new BatchRevokedError(error) : error;
      });
    const where = { topic: batch.topic, partition: batch.partition };
    const lagLabels = { topic: batch.topic, partition: String(batch.partition) };
    this.lagLabels.set(`${lagLabels.topic}/${lagLabels.partition}`, lagLabels);
    this.metrics.consumerLag.set(lagLabels, Number(batch.offsetLag()));
    // A saga of this partition failing from now on makes this batch one to fetch again.
    const generation = this.coalescer.generation(batch.topic, batch.partition);
    const chunkSize = this.config.SAGA_MAX_EVENTS;
    const receivedAtMs = Date.now();
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      const chunk = batch.messages.slice(start, start + chunkSize);
      const first = chunk[0].offset;
      const last = chunk[chunk.length - 1].offset;
      const incoming: IncomingBatch = {
        messages: chunk.map((m) => toIncoming(batch.topic, batch.partition, m)),
        receivedAtMs,
        heartbeat,
        isActive,
        // The committed offset is the next one to read, not the last one handled.
        commit: () => this.commits.commit({ ...where, offset: String(BigInt(last) + 1n) }),
      };
      // Back-pressure: at most one saga's worth of events waits behind the one running.
      const room = await this.coalescer.reserve(chunk.length);
      if (!isActive() || this.closing) return room.release();
      // A failed batch of this partition is being sought back to, or was while this one waited
      // (the seek may have taken effect since): the refetch brings this one after it.
      if (
        this.coalescer.isBlocked(batch.topic, batch.partition) ||
        this.coalescer.generation(batch.topic, batch.partition) !== generation
      )
        return room.release();
      // ConsumeBatch reports its own failures; a coalescer's refusal is expected, at debug.
      room.submit(incoming).catch((error: unknown) => {
        if (error instanceof BatchSupersededError)
          this.log.debug({ ...where, reason: error.message }, SAGA_LOG.abandoned);
        this.rewind(batch.topic, batch.partition, first, isActive);
      });
      // Resolved now, committed after the saga: kafkajs fetches the next batch while this one's
      // saga runs. If the saga fails, the partition is sought back to this batch (above).
      resolveOffset(last);
    }
  }

  /**
   * A batch that did not commit is fetched again: the partition is sought back to its first
   * offset (the lowest of the batches that failed together). Until then the coalescer refuses
   * the partition's batches, so none can be applied ahead of it; the seek takes effect later
   * (the partition's next fetch), so a batch that waited for room through the failure is told
   * by the partition's rewind generation and dropped as well. A partition that is no longer
   * ours, or a consumer stopping, needs no seek: it restarts from the committed offset.
   */
  private rewind(topic: string, partition: number, offset: string, isActive: () => boolean) {
    const key = partitionKey(topic, partition);
    const earlier = this.seeks.get(key);
    if (earlier === undefined || BigInt(offset) < BigInt(earlier.offset))
      this.seeks.set(key, { topic, partition, offset, isActive });
    this.seekSoon ??= setImmediate(() => {
      this.seekSoon = undefined;
      for (const seek of this.seeks.values()) {
        const { topic: t, partition: p, offset: o } = seek;
        if (seek.isActive() && !this.closing && this.owns(t, p)) {
          try {
            this.consumer.seek({ topic: t, partition: p, offset: o });
          } catch (error) {
            this.log.warn({ err: error, topic: t, partition: p, offset: o }, 'seek back failed');
          }
        }
        this.coalescer.unblock(t, p);
      }
      this.seeks.clear();
    });
  }
}

/** kafkajs' rebalance errors, and the coordinator no longer knowing this member (evicted). */
const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

function isRebalance(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' && REBALANCE_ERRORS.has(type);
}

function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  const { offset, key, value, timestamp } = message;
  return { topic, partition, offset, key, value, timestamp };
}
