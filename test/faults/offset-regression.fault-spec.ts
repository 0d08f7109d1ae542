import { ServiceProcess } from '../support/service-process';
import { productUpdated } from '../support/events';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';
import { createTopicsAndWait } from '../../apps/invalidator/src/kafka/kafka-topics';

jest.setTimeout(180000);

/**
 * The offset ledger keys exactly-once on (topic, partition, offset). A topic deleted and
 * recreated (or a log truncated, or a new Kafka cluster behind the same database) starts its
 * offsets again below the ledger's: those events are new, and must be applied, not skipped.
 */
describe('offset regressions', () => {
  const worlds: World[] = [];
  const services: ServiceProcess[] = [];

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    for (const world of worlds) await world.close();
  });

  async function appliedHistory(name: string, count: number) {
    const world = await World.create(name, 1);
    worlds.push(world);
    const service = await ServiceProcess.start(world.env);
    services.push(service);
    const events = Array.from({ length: count }, (_, i) => productUpdated({ productId: `h${i}` }));
    await world.publish(events);
    await world.waitApplied(
      events.map((e) => e.eventId),
      count,
    );
    return { world, service };
  }

  async function recreateProductTopic(world: World) {
    const topic = world.env.topics.product;
    await world.admin.deleteTopics({ topics: [topic] });
    await waitFor(
      'the topic deleted',
      async () => !(await world.admin.listTopics()).includes(topic),
    );
    // The broker may still be tearing down the old log: retry until the creation is accepted.
    await waitFor('the topic recreated', async () => {
      try {
        await createTopicsAndWait(world.admin, [{ topic, numPartitions: 1 }]);
      } catch {
        return false;
      }
      return (await world.admin.listTopics()).includes(topic);
    });
  }

  /** A new event at a low offset of the new topic: bumped, its tag purged, the regression raised. */
  async function expectAppliedAsNew(world: World, service: ServiceProcess) {
    const before = await world.versions();
    const event = productUpdated({ productId: 'fresh' });
    await world.tag('product:fresh', ['page:product:fresh']);
    await world.publish([event]);
    await waitFor(
      'the new event bumped the products version',
      async () => (await world.versions()).products > before.products,
      30000,
    );
    await waitFor('its tag purged', async () => !(await world.exists('page:product:fresh')), 10000);
    await waitFor(
      'the regression counted',
      async () => (await service.metric('invalidator_offset_regressions_total')) >= 1,
      10000,
    );
    await waitFor(
      'a CRITICAL incident written',
      async () =>
        (
          await world.query<{ severity: string }>(
            "SELECT severity FROM incidents WHERE kind = 'offset_regression'",
          )
        ).some((r) => r.severity === 'CRITICAL'),
      10000,
    );
    const [row] = await world.query<{ next_offset: string }>(
      'SELECT next_offset FROM partition_offsets WHERE topic = ? AND `partition` = 0',
      [world.env.topics.product],
    );
    // The ledger follows the new topic's offsets rather than keeping the old, higher mark.
    expect(Number(row.next_offset)).toBeLessThan(20);
  }

  it('a topic deleted while the service is stopped and recreated by it at start-up: new events are applied', async () => {
    const { world, service } = await appliedHistory('regress-stopped', 20);
    await service.stop();
    const topic = world.env.topics.product;
    await world.admin.deleteTopics({ topics: [topic] });
    await waitFor(
      'the topic deleted',
      async () => !(await world.admin.listTopics()).includes(topic),
    );
    // The service creates the missing topic at start-up, its offsets from 0 again.
    const restarted = await ServiceProcess.start(world.env);
    services.push(restarted);
    expect(await world.admin.listTopics()).toContain(topic);
    await expectAppliedAsNew(world, restarted);
  });

  it('a topic deleted and recreated while the service runs: new events are applied', async () => {
    const { world, service } = await appliedHistory('regress-running', 20);
    await recreateProductTopic(world);
    await expectAppliedAsNew(world, service);
  });

  it('a consumer group rewound to the earliest offset (a real redelivery) bumps nothing', async () => {
    const { world, service } = await appliedHistory('rewind', 20);
    const before = await world.versions();
    await service.stop();
    await world.admin.resetOffsets({
      groupId: world.env.groupId,
      topic: world.env.topics.product,
      earliest: true,
    });
    expect(await world.committedOffsets(world.env.topics.product)).toBe(0);
    const restarted = await ServiceProcess.start(world.env);
    services.push(restarted);
    await waitFor(
      'the redelivery committed',
      async () => (await world.committedOffsets(world.env.topics.product)) === 20,
      30000,
    );
    expect(await world.versions()).toEqual(before);
    expect(await world.inboxCount()).toBe(20);
    expect(await restarted.metric('invalidator_events_total', { outcome: 'duplicate' })).toBe(20);
    expect(await restarted.metric('invalidator_offset_regressions_total')).toBe(0);
    expect(
      await world.query("SELECT id FROM incidents WHERE kind = 'offset_regression'"),
    ).toHaveLength(0);
  });
});
