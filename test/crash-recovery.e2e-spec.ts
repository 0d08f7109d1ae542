import { DataSource } from 'typeorm';
import { VersionRepository } from '@invalidator/versioning';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { productUpdated } from './support/events';
import { migratedDataSource } from './support/versioning-db';
import { World } from './support/world';

describe('a crash between the MySQL commit and the purge', () => {
  let world: World;
  let dataSource: DataSource;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    world = await World.create('crash', 1);
    dataSource = await migratedDataSource(world.env.mysqlUrl);
  });

  afterAll(async () => {
    await service?.stop();
    await dataSource?.destroy();
    await world?.close();
  });

  it('is healed by redelivery: the inbox says "already bumped", the versions are published and the tags purged', async () => {
    const event = productUpdated({ productId: 'c1', categoryIds: ['c9'] });
    await world.tag('product:c1', ['page:product:c1']);
    await world.tag('category:c9', ['page:category:c9']);
    // The state a process leaves when SIGKILLed right after COMMIT: inbox row and bump in
    // MySQL, nothing published to Redis, nothing purged, offset not committed.
    await new VersionRepository(dataSource).bumpVersions({
      events: [
        {
          eventId: event.eventId,
          topic: world.env.topics.product,
          partition: 0,
          offset: '0',
          dataTypes: ['products', 'global'],
        },
      ],
      fenceToken: 1n,
      actor: 'crashed',
      lockWaitTimeoutMs: 2000,
    });
    const bumped = await world.versions();
    expect(await world.redis.get('shop.version.products')).toBeNull();

    await world.publish([event]);
    service = await ServiceProcess.start(world.env);
    await waitFor(
      'the redelivery committed',
      async () => (await world.committedOffsets(world.env.topics.product)) === 1,
    );

    expect(await world.versions()).toEqual(bumped);
    expect((await world.audit()).map((a) => a.actor)).toEqual(['crashed', 'crashed']);
    expect(JSON.parse((await world.redis.get('shop.version.products')) ?? '{}').version).toBe(
      bumped.products,
    );
    expect(await world.redis.get('inertia.data.version')).toMatch(
      new RegExp(`^${bumped.global}\\.`),
    );
    for (const key of [
      'page:product:c1',
      'page:category:c9',
      'shop.tag.product:c1',
      'shop.tag.category:c9',
    ]) {
      expect(await world.exists(key)).toBe(false);
    }
    expect(await service.metric('invalidator_events_total', { outcome: 'duplicate' })).toBe(1);
  });
});
