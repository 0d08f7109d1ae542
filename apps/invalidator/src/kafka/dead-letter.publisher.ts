import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  CompressionTypes,
  IHeaders,
  Kafka,
  KafkaJSProtocolError,
  Message,
  Partitioners,
  Producer,
} from 'kafkajs';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { AlertService, InvalidatorMetrics } from '@invalidator/monitoring';
import { DeadLetter, DeadLetterSink } from '@invalidator/invalidation';
import { KAFKA } from './kafka.provider';

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int64 = (n: string) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};

/** A reason is a diagnosis, not a payload: keep it short enough that a letter always fits. */
const MAX_REASON_CHARS = 1024;
/** Per-record framing (lengths, offsets, timestamps) on top of key, value and headers. */
const RECORD_OVERHEAD_BYTES = 64;
/** Broker refusals that no retry can cure: the request itself is too large. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

interface Letter {
  key: Buffer | null;
  record: Message;
  bytes: number;
  originalOffset: string;
}

/** What one publish met: broker refusals by type and the letters that lost their value. */
interface Refusals {
  byType: Map<string, number>;
  valuesDropped: string[];
}

function tooLargeRefusal(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof KafkaJSProtocolError && !e.retriable && TOO_LARGE.has(e.type)) return e.type;
  }
  return undefined;
}

function recordBytes(key: Buffer | null, value: Buffer | null, headers: IHeaders): number {
  let bytes = RECORD_OVERHEAD_BYTES + (key?.length ?? 0) + (value?.length ?? 0);
  for (const [name, header] of Object.entries(headers)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(String(header));
  }
  return bytes;
}

/**
 * Sends messages that can never be applied to the dead-letter topic, readable by Spring tooling.
 * A letter must always get through, or its partition stalls behind it: sends are split by size
 * and compressed, values are capped, and a request the broker refuses as too large is split
 * again, down to one letter and at last to its headers alone.
 */
@Injectable()
export class DeadLetterPublisher implements DeadLetterSink, OnApplicationShutdown {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: InvalidatorMetrics,
    private readonly alerts: AlertService,
  ) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      // Not idempotent: on a refusal kafkajs rolls back the sequence of every partition in the
      // request, so resending a split part would be refused as out of order. A crash may repeat
      // letters anyway; the original offset headers tell repeats apart.
      idempotent: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async publish(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.connect();
    const refusals: Refusals = { byType: new Map(), valuesDropped: [] };
    for (const chunk of this.chunks(letters.map((l) => this.toLetter(l)))) {
      await this.sendSplitting(chunk, refusals);
    }
    if (refusals.byType.size > 0) this.alertRefusals(refusals);
  }

  /** A failed connect must not poison later sends: the next publish connects again. */
  private async connect(): Promise<void> {
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    await this.connected;
  }

  /** Consecutive letters whose total stays within KAFKA_DLQ_BATCH_BYTES (a big one goes alone). */
  private *chunks(letters: Letter[]): Generator<Letter[]> {
    let chunk: Letter[] = [];
    let bytes = 0;
    for (const letter of letters) {
      if (chunk.length > 0 && bytes + letter.bytes > this.config.KAFKA_DLQ_BATCH_BYTES) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(letter);
      bytes += letter.bytes;
    }
    if (chunk.length > 0) yield chunk;
  }

  private async sendSplitting(letters: Letter[], refusals: Refusals): Promise<void> {
    try {
      await this.producer.send({
        topic: this.config.KAFKA_TOPIC_DLQ,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: letters.map((l) => l.record),
      });
      return;
    } catch (error) {
      const type = tooLargeRefusal(error);
      // Anything else is the world's fault (broker away, leader moving): the saga retries.
      if (type === undefined) throw error;
      this.metrics.deadLetterRefusals.inc({ error: type });
      refusals.byType.set(type, (refusals.byType.get(type) ?? 0) + 1);
      if (letters.length > 1) {
        const half = Math.ceil(letters.length / 2);
        await this.sendSplitting(letters.slice(0, half), refusals);
        await this.sendSplitting(letters.slice(half), refusals);
        return;
      }
      const [letter] = letters;
      // Headers alone refused too: nothing smaller to send, so it stays a (retried) failure.
      if (letter.record.value === null) throw error;
      refusals.valuesDropped.push(letter.originalOffset);
      await this.sendSplitting([this.withoutValue(letter)], refusals);
    }
  }

  private toLetter({ message, reason }: DeadLetter): Letter {
    const cap = this.config.KAFKA_DLQ_MAX_VALUE_BYTES;
    const original = message.value;
    const truncated = original !== null && original.length > cap;
    const value = truncated ? original.subarray(0, cap) : original;
    const shortReason =
      reason.length > MAX_REASON_CHARS ? reason.slice(0, MAX_REASON_CHARS) : reason;
    const headers: IHeaders = {
      'x-error-reason': shortReason,
      'x-original-topic': message.topic,
      'x-original-partition': String(message.partition),
      'x-original-offset': message.offset,
      'x-original-timestamp': message.timestamp,
      'x-original-size': String(original?.length ?? 0),
      ...(truncated ? { 'x-value-truncated': 'true' } : {}),
      'x-consumer-group': this.config.KAFKA_GROUP_ID,
      'kafka_dlt-original-topic': message.topic,
      'kafka_dlt-original-partition': int32(message.partition),
      'kafka_dlt-original-offset': int64(message.offset),
      'kafka_dlt-original-timestamp': int64(message.timestamp),
      'kafka_dlt-original-consumer-group': this.config.KAFKA_GROUP_ID,
      'kafka_dlt-exception-message': shortReason,
    };
    return {
      key: message.key,
      record: { key: message.key, value, headers },
      bytes: recordBytes(message.key, value, headers),
      originalOffset: `${message.topic}/${message.partition}@${message.offset}`,
    };
  }

  private withoutValue(letter: Letter): Letter {
    const headers: IHeaders = { ...letter.record.headers, 'x-value-truncated': 'true' };
    return {
      ...letter,
      record: { ...letter.record, value: null, headers },
      bytes: recordBytes(letter.key, null, headers),
    };
  }

  /** Not awaited: the letters are out, an incident write must not make the saga send them again. */
  private alertRefusals(refusals: Refusals): void {
    const byType = Object.fromEntries(refusals.byType);
    void this.alerts.raise({
      kind: 'dead_letter_refused',
      severity: 'WARNING',
      message:
        `the broker refused dead letters as too large (${JSON.stringify(byType)}); ` +
        `resent split, ${refusals.valuesDropped.length} without their value`,
      correctiveAction:
        `Check max.message.bytes of ${this.config.KAFKA_TOPIC_DLQ} (and the broker's message.max.bytes) ` +
        'against KAFKA_DLQ_BATCH_BYTES and KAFKA_DLQ_MAX_VALUE_BYTES; letters sent without their ' +
        'value (x-value-truncated) point to the original by x-original-topic/partition/offset.',
      details: { refusals: byType, values_dropped: refusals.valuesDropped.slice(0, 20) },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }
}
