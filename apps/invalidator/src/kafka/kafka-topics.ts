import { Kafka } from 'kafkajs';
import { AppConfig } from '@invalidator/config';

/** The topics consumed: the contract's two and the CDC mapping's (libs/contracts change-event.ts). */
export function consumedTopics(config: AppConfig): string[] {
  const { KAFKA_TOPIC_PRODUCT, KAFKA_TOPIC_CATEGORY, CDC_MAPPING_FILE } = config;
  return [
    ...new Set([KAFKA_TOPIC_PRODUCT, KAFKA_TOPIC_CATEGORY, ...(CDC_MAPPING_FILE?.topics ?? [])]),
  ];
}

/** Creates the topics the service reads and writes (the dead-letter one too), if missing. */
export class TopicProvisioning {
  constructor(
    private readonly kafka: Kafka,
    private readonly config: AppConfig,
  ) {}

  async ensure(): Promise<void> {
    const topics = [...consumedTopics(this.config), this.config.KAFKA_TOPIC_DLQ];
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const wanted = topics.filter((t) => !existing.has(t));
      if (wanted.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: wanted.map((topic) => ({
          topic,
          numPartitions: this.config.KAFKA_TOPIC_PARTITIONS,
          replicationFactor: this.config.KAFKA_TOPIC_REPLICATION_FACTOR,
        })),
      });
    } finally {
      await admin.disconnect();
    }
  }
}
