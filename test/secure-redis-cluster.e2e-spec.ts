import { Cluster } from 'ioredis';
import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { REDIS_SECURITY, clusterNodes } from './support/test-env';
import { World } from './support/world';

// Collected only on the secured stack (the secure leg of test/legs.ts), whose three-master
// Redis Cluster speaks TLS only, its default user off.
const NODES = process.env.TEST_SECURE_REDIS_CLUSTER_NODES ?? '';

describe('on a Redis Cluster over TLS, as its ACL user', () => {
  let world: World;
  let cluster: Cluster;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('tlscluster', 1);
    cluster = new Cluster(clusterNodes(NODES), {
      keyPrefix: world.env.redisPrefix,
      redisOptions: REDIS_SECURITY,
    });
    service = await ServiceProcess.start(world.env, {
      REDIS_CLUSTER_NODES: NODES,
      REDIS_TLS: 'true',
    });
  });

  afterAll(async () => {
    await service?.stop();
    for (const master of cluster?.nodes('master') ?? []) {
      const keys = await master.keys(`${world.env.redisPrefix}*`);
      for (const key of keys) await master.del(key);
    }
    await cluster?.quit();
    await world?.close();
  });

  it('an event bumps the versions, publishes them to the cluster and purges its tag there', async () => {
    await cluster.set('page:product:7', 'cached');
    await cluster.sadd('shop.tag.product:7', `${world.env.redisPrefix}page:product:7`);
    const event = productUpdated({ productId: '7' });
    await world.publish([event]);
    await world.waitApplied([event.eventId], 1);

    const versions = await world.versions();
    const published = JSON.parse((await cluster.get('shop.version.products')) ?? '{}') as {
      version?: number;
    };
    expect(published.version).toBe(versions.products);
    expect(await cluster.exists('page:product:7')).toBe(0);
    expect(await cluster.exists('shop.tag.product:7')).toBe(0);
    expect(await service.metric('invalidator_redis_cluster_nodes')).toBe(3);
  });

  it('a plaintext client to the cluster is refused at start-up, naming Redis', async () => {
    const { code, output } = await ServiceProcess.startExpectingExit(world.env, {
      REDIS_CLUSTER_NODES: NODES,
      REDIS_TLS: 'false',
      REDIS_TLS_CA_FILE: '',
    });
    expect(code).toBe(3);
    expect(output).toMatch(/- Redis at 127\.0\.0\.1:\d+ refused the connection: .*REDIS_TLS/);
  });
});
