import { Kafka } from 'kafkajs';
import { AppConfig } from '@invalidator/config';

/** Creates the topics the service reads and writes that are missing, at start-up. */
export class TopicProvisioning {
  constructor(
    private readonly kafka: Kafka,
    private readonly config: AppConfig,
  ) {}

  async ensure(topics: string[]): Promise<void> {
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
