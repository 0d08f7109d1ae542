import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Kafka, Partitioners, Producer } from 'kafkajs';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { IncomingMessage } from './incoming-batch';
import { KAFKA } from './kafka.provider';

export interface DeadLetter {
  message: IncomingMessage;
  /** A fixed word for metrics: the InvalidEventError kind, or 'poison'. */
  kind: string;
  reason: string;
}

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

/** Sends messages that can never be applied to the dead-letter topic, readable by Spring tooling. */
@Injectable()
export class DeadLetterPublisher implements OnApplicationShutdown {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async publish(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    this.connected ??= this.producer.connect();
    await this.connected;
    await this.producer.send({
      topic: this.config.KAFKA_TOPIC_DLQ,
      acks: -1,
      messages: letters.map(({ message, reason }) => ({
        key: message.key,
        value: message.value,
        headers: {
          'x-error-reason': reason,
          'x-original-topic': message.topic,
          'x-original-partition': String(message.partition),
          'x-original-offset': message.offset,
          'x-original-timestamp': message.timestamp,
          'x-consumer-group': this.config.KAFKA_GROUP_ID,
          'kafka_dlt-original-topic': message.topic,
          'kafka_dlt-original-partition': int32(message.partition),
          'kafka_dlt-original-offset': int64(message.offset),
          'kafka_dlt-original-timestamp': int64(message.timestamp),
          'kafka_dlt-original-consumer-group': this.config.KAFKA_GROUP_ID,
          'kafka_dlt-exception-message': reason,
        },
      })),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
