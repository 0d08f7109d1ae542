import { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { ServiceProcess } from './support/service-process';
import { categoryUpdated, productUpdated } from './support/events';
import { World } from './support/world';

// Runs only on the cluster leg (test/legs.ts); every other e2e spec runs there too, against the
// same cluster.
describe('on a Redis Cluster (3 masters, 3 replicas)', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('cluster', 3);
    service = await ServiceProcess.start(world.env);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a saga whose tags and keys span every master publishes and purges with no CROSSSLOT error', async () => {
    const cluster = world.redis as Cluster;
    const slots = new Set<string>();
    const tags = [
      'products',
      'product:p1',
      ...Array.from({ length: 12 }, (_, i) => `category:c${i}`),
    ];
    for (const tag of tags) {
      const keys = Array.from({ length: 5 }, (_, i) => `page:${tag}:${i}`);
      keys.forEach((k) => slots.add(String(calculateSlot(`${world.env.redisPrefix}${k}`))));
      await world.tag(tag, keys);
    }
    expect(slots.size).toBeGreaterThan(10);
    const events = [
      productUpdated({ productId: 'p1', categoryIds: tags.slice(2).map((t) => t.slice(9)) }),
      categoryUpdated('c0'),
    ];
    await world.publish(events);
    // One product event: the group commits offset 1 on the product topic.
    await world.waitApplied(
      events.map((e) => e.eventId),
      1,
    );

    const versions = await world.versions();
    for (const type of ['products', 'categories', 'global']) {
      const published = JSON.parse((await cluster.get(`shop.version.${type}`)) ?? '{}');
      expect(published.version).toBe(versions[type]);
    }
    expect(await cluster.get('inertia.data.version')).toMatch(
      new RegExp(`^${versions.global}\\.[0-9a-f]{16}$`),
    );
    for (const tag of tags) expect(await world.exists(`shop.tag.${tag}`)).toBe(false);
    expect(await world.redisKeys('page:*')).toEqual([]);
    expect(service.logs()).not.toMatch(/CROSSSLOT/);
  });

  it('readiness sees every slot covered and /metrics counts the nodes', async () => {
    const res = await fetch(`${service.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await service.metric('invalidator_redis_cluster_nodes')).toBe(6);
  });
});
