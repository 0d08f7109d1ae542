import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, ITopicConfig, Kafka } from 'kafkajs';
import { AppConfig } from '@invalidator/config';

/** The topics consumed: the contract's two and the CDC mapping's (libs/contracts change-event.ts). */
export function consumedTopics(config: AppConfig): string[] {
  const { KAFKA_TOPIC_PRODUCT, KAFKA_TOPIC_CATEGORY, CDC_MAPPING_FILE } = config;
  return [
    ...new Set([KAFKA_TOPIC_PRODUCT, KAFKA_TOPIC_CATEGORY, ...(CDC_MAPPING_FILE?.topics ?? [])]),
  ];
}

export interface TopicWait {
  timeoutMs: number;
  pollMs: number;
}

const DEFAULT_WAIT: TopicWait = { timeoutMs: 30_000, pollMs: 100 };

/**
 * Creates topics and returns once each answers for its offsets (its leaders are elected).
 * kafkajs' `waitForLeaders` retries only LEADER_NOT_AVAILABLE, and a KRaft broker under load
 * answers UNKNOWN_TOPIC_OR_PARTITION for a moment after the create: that failed start-ups in CI.
 * So it is turned off (it is on unless `false` is passed) and the leaders are waited for here.
 * A topic another instance created meanwhile is fine (kafkajs resolves `false` for it).
 */
export async function createTopicsAndWait(
  admin: Admin,
  topics: ITopicConfig[],
  wait: TopicWait = DEFAULT_WAIT,
): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  const deadline = Date.now() + wait.timeoutMs;
  for (const { topic } of topics) {
    for (;;) {
      const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
      if (offsets.length > 0) break;
      if (Date.now() >= deadline)
        throw new Error(
          `the topic ${topic} has no leaders ${wait.timeoutMs} ms after its creation`,
        );
      await sleep(wait.pollMs);
    }
  }
}

/** Creates the topics the service reads and writes (the dead-letter one too), if missing. */
export class TopicProvisioning {
  constructor(
    private readonly kafka: Kafka,
    private readonly config: AppConfig,
    private readonly wait: TopicWait = DEFAULT_WAIT,
  ) {}

  async ensure(): Promise<void> {
    const topics = [...consumedTopics(this.config), this.config.KAFKA_TOPIC_DLQ];
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const wanted = topics.filter((t) => !existing.has(t));
      if (wanted.length === 0) return;
      await createTopicsAndWait(
        admin,
        wanted.map((topic) => ({
          topic,
          numPartitions: this.config.KAFKA_TOPIC_PARTITIONS,
          replicationFactor: this.config.KAFKA_TOPIC_REPLICATION_FACTOR,
        })),
        this.wait,
      );
    } finally {
      await admin.disconnect();
    }
  }
}
