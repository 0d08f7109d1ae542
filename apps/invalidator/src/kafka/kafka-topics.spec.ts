import { Admin, ITopicConfig, Kafka } from 'kafkajs';
import { AppConfig } from '@invalidator/config';
import { TopicProvisioning } from './kafka-topics';

/**
 * A broker that has just created a topic: for a moment it answers UNKNOWN_TOPIC_OR_PARTITION for
 * it (a KRaft broker under load does). kafkajs' `waitForLeaders` retries only LEADER_NOT_AVAILABLE
 * and gave up there in CI, failing a start-up.
 */
function busyBroker(unknownFor: number) {
  const created: ITopicConfig[] = [];
  const asked = new Map<string, number>();
  const admin = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    listTopics: () => Promise.resolve(created.map((t) => t.topic)),
    createTopics: (options: { topics: ITopicConfig[]; waitForLeaders?: boolean }) => {
      created.push(...options.topics);
      // kafkajs' default is to wait for leaders (`waitForLeaders` left out means true).
      if (options.waitForLeaders !== false)
        return Promise.reject(new Error('This server does not host this topic-partition'));
      return Promise.resolve(true);
    },
    fetchTopicOffsets: (topic: string) => {
      const n = (asked.get(topic) ?? 0) + 1;
      asked.set(topic, n);
      if (n <= unknownFor || !created.some((t) => t.topic === topic))
        return Promise.reject(new Error('This server does not host this topic-partition'));
      return Promise.resolve([{ partition: 0, offset: '0', high: '0', low: '0' }]);
    },
  };
  const kafka = { admin: () => admin as unknown as Admin } as unknown as Kafka;
  return { kafka, created, asked };
}

const config = {
  KAFKA_TOPIC_PRODUCT: 'p',
  KAFKA_TOPIC_CATEGORY: 'c',
  KAFKA_TOPIC_DLQ: 'dlq',
  KAFKA_TOPIC_PARTITIONS: 3,
  KAFKA_TOPIC_REPLICATION_FACTOR: 1,
} as AppConfig;

describe('TopicProvisioning', () => {
  it('creates the missing topics and returns once each answers for its offsets', async () => {
    const broker = busyBroker(2);
    await new TopicProvisioning(broker.kafka, config).ensure();
    expect(broker.created.map((t) => t.topic).sort()).toEqual(['c', 'dlq', 'p']);
    expect(broker.created.every((t) => t.numPartitions === 3)).toBe(true);
    for (const topic of ['p', 'c', 'dlq']) expect(broker.asked.get(topic)).toBe(3);
  });

  it('gives up naming the topic when it never answers', async () => {
    const broker = busyBroker(Infinity);
    await expect(
      new TopicProvisioning(broker.kafka, config, { timeoutMs: 300, pollMs: 20 }).ensure(),
    ).rejects.toThrow(/topic p has no leaders 300 ms/);
  });
});
