import { ServiceProcess } from './support/service-process';
import { World } from './support/world';

describe('topics the service creates', () => {
  let world: World;
  let service: ServiceProcess | undefined;
  const created: string[] = [];

  beforeAll(async () => {
    world = await World.create('topics', 1);
  });

  afterAll(async () => {
    await service?.stop();
    await world.admin.deleteTopics({ topics: created }).catch(() => undefined);
    await world?.close();
  });

  /** Topic names the world did not create, so that the service creates them itself. */
  const freshTopics = (tag: string) => {
    const topics = {
      KAFKA_TOPIC_PRODUCT: `${world.env.topics.product}.${tag}`,
      KAFKA_TOPIC_CATEGORY: `${world.env.topics.category}.${tag}`,
      KAFKA_TOPIC_DLQ: `${world.env.topics.dlq}.${tag}`,
    };
    created.push(...Object.values(topics));
    return topics;
  };

  it('are created with KAFKA_TOPIC_REPLICATION_FACTOR replicas, not the broker default', async () => {
    // One broker: a factor of 2 cannot be met, so the setting shows in the broker's refusal.
    const refusal = await ServiceProcess.start(world.env, {
      ...freshTopics('rf2'),
      KAFKA_TOPIC_REPLICATION_FACTOR: '2',
    }).then(
      async (started) => {
        await started.stop();
        return 'started with topics of the broker default';
      },
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/replication.factor/i);

    const topics = freshTopics('rf1');
    service = await ServiceProcess.start(world.env, {
      ...topics,
      KAFKA_TOPIC_REPLICATION_FACTOR: '1',
    });
    const metadata = await world.admin.fetchTopicMetadata({ topics: Object.values(topics) });
    for (const topic of metadata.topics) {
      expect(topic.partitions).toHaveLength(world.env.partitions);
      for (const partition of topic.partitions) expect(partition.replicas).toHaveLength(1);
    }
  });
});
