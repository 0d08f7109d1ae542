import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  Admin,
  Batch,
  IHeaders,
  Kafka,
  KafkaMessage,
  Partitioners,
  Producer,
  logLevel,
} from 'kafkajs';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { kafkaClient } from '@invalidator/kafka';

export interface ReplayFilter {
  /** The dead-letter topic's own offset to start from, on each of its partitions. */
  fromOffset: bigint;
  /** Only letters whose `x-error-reason` starts with this. */
  reason?: string;
}

/** One letter that matched the filter: sent back to its original topic, or why it was not. */
export interface ReplayOutcome {
  /** Where the letter is: `dlq[partition]@offset`. */
  letter: string;
  topic: string;
  partition: number | undefined;
  originalOffset: string;
  eventId: string | undefined;
  reason: string;
  /** Why it was not sent back; undefined when it was. */
  skipped?: string;
}

export interface ReplayTotals {
  read: number;
  replayed: number;
  skipped: number;
}

interface Range {
  partition: number;
  start: bigint;
  end: bigint;
}

const header = (headers: IHeaders | undefined, name: string): string | undefined => {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.toString();
};

function eventIdOf(value: Buffer | null): string | undefined {
  try {
    const id = (JSON.parse(value?.toString() ?? '') as { eventId?: unknown }).eventId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends dead letters back to the topic they came from, key and value unchanged (so the event
 * id stays the same), to the partition they were read from. Reads the dead-letter topic from
 * the given offset up to where it ended when the replay started, so letters a replay causes
 * are not replayed again by the same run. Commits no offsets: a throwaway group of its own.
 */
@Injectable()
export class DeadLetterReplay {
  private readonly kafka: Kafka;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.kafka = kafkaClient(config, {
      clientId: `${config.KAFKA_CLIENT_ID}-cli`,
      // kafkajs logs errors to stderr: stdout carries what was replayed.
      logLevel: logLevel.ERROR,
    });
  }

  async replay(
    filter: ReplayFilter,
    report: (outcome: ReplayOutcome) => void,
  ): Promise<ReplayTotals> {
    const totals: ReplayTotals = { read: 0, replayed: 0, skipped: 0 };
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ranges = (await admin.fetchTopicOffsets(this.config.KAFKA_TOPIC_DLQ))
        .map((p) => ({
          partition: p.partition,
          start: BigInt(p.low) > filter.fromOffset ? BigInt(p.low) : filter.fromOffset,
          end: BigInt(p.high),
        }))
        .filter((r) => r.start < r.end);
      if (ranges.length === 0) return totals;
      const producer = this.kafka.producer({
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      try {
        await this.readRanges(ranges, async (message, partition) => {
          totals.read++;
          const outcome = await this.replayOne(admin, producer, filter, message, partition);
          if (!outcome) return;
          if (outcome.skipped) totals.skipped++;
          else totals.replayed++;
          report(outcome);
        });
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
      return totals;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Every message of the ranges, in order per partition; returns when each range is read. */
  private async readRanges(
    ranges: Range[],
    each: (message: KafkaMessage, partition: number) => Promise<void>,
  ): Promise<void> {
    const topic = this.config.KAFKA_TOPIC_DLQ;
    const consumer = this.kafka.consumer({
      // Under the service's group prefix (the ACLs grant it); never committed, so it vanishes.
      groupId: `${this.config.KAFKA_GROUP_ID}.dlq-replay.${randomUUID()}`,
      allowAutoTopicCreation: false,
    });
    const pending = new Map(ranges.map((r) => [r.partition, r]));
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let failed = false;
        const fail = (error: unknown) => {
          failed = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        };
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) fail(payload.error);
        });
        const eachBatch = async ({ batch }: { batch: Batch }) => {
          const range = pending.get(batch.partition);
          if (failed || !range) return;
          try {
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              if (offset >= range.start && offset < range.end) await each(message, batch.partition);
            }
          } catch (error) {
            // Not thrown to kafkajs: it would fetch the batch again and send its letters twice.
            fail(error);
            return;
          }
          if (BigInt(batch.lastOffset()) >= range.end - 1n) {
            pending.delete(batch.partition);
            if (pending.size === 0) resolve();
          }
        };
        consumer.run({ autoCommit: false, eachBatch }).catch(fail);
        for (const r of ranges)
          consumer.seek({ topic, partition: r.partition, offset: String(r.start) });
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  private async replayOne(
    admin: Admin,
    producer: Producer,
    filter: ReplayFilter,
    message: KafkaMessage,
    dlqPartition: number,
  ): Promise<ReplayOutcome | undefined> {
    const reason = header(message.headers, 'x-error-reason') ?? '';
    if (filter.reason !== undefined && !reason.startsWith(filter.reason)) return undefined;
    const topic = header(message.headers, 'x-original-topic') ?? '';
    const originalPartition = Number(header(message.headers, 'x-original-partition'));
    const outcome: ReplayOutcome = {
      letter: `${this.config.KAFKA_TOPIC_DLQ}[${dlqPartition}]@${message.offset}`,
      topic,
      partition: undefined,
      originalOffset: header(message.headers, 'x-original-offset') ?? '?',
      eventId: eventIdOf(message.value),
      reason,
    };
    if (!topic) return { ...outcome, skipped: 'no x-original-topic header' };
    if (header(message.headers, 'x-value-truncated') === 'true')
      return { ...outcome, skipped: 'its value was cut short in the dead letter' };
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    // The partition it was read from, while the topic still has it: the entity's order holds.
    const partition =
      Number.isInteger(originalPartition) &&
      metadata.partitions.some((p) => p.partitionId === originalPartition)
        ? originalPartition
        : undefined;
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          partition,
          headers: { 'x-replayed-from': outcome.letter },
        },
      ],
    });
    return { ...outcome, partition };
  }
}
