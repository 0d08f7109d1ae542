import mysql, { Connection } from 'mysql2/promise';
import { ServiceProcess } from './support/service-process';
import { waitFor, mysqlTestOptions } from './support/test-env';
import { productUpdated } from './support/events';
import { World } from './support/world';

describe('a MySQL failure inside the transaction', () => {
  let world: World;
  let service: ServiceProcess;
  let blocker: Connection;

  beforeAll(async () => {
    world = await World.create('mysqlfail');
    service = await ServiceProcess.start(world.env, {
      VERSION_LOCK_TIMEOUT_MS: '1000',
      RETRY_MAX_DELAY_MS: '500',
    });
    blocker = await mysql.createConnection(mysqlTestOptions(world.env.mysqlUrl));
  });

  afterAll(async () => {
    await blocker?.end();
    await service?.stop();
    await world?.close();
  });

  it('commits nothing, commits no offset, and the event is applied on redelivery', async () => {
    // Another session holds the products row: the saga's transaction has already written
    // its inbox row when its version update fails with ER_LOCK_WAIT_TIMEOUT.
    await blocker.query('START TRANSACTION');
    await blocker.query("SELECT * FROM shop_data_versions WHERE data_type = 'products' FOR UPDATE");
    await world.tag('product:7', ['page:product:7']);
    const before = await world.versions();
    const event = productUpdated({ productId: 7 });

    await world.publish([event]);
    await waitFor(
      'two failed attempts',
      async () =>
        (await service.metric('invalidator_saga_retries_total', {
          error: 'ER_LOCK_WAIT_TIMEOUT',
        })) >= 2,
    );

    expect(await world.versions()).toEqual(before);
    expect(await world.inboxCount([event.eventId])).toBe(0);
    expect(await world.audit()).toEqual([]);
    expect(await world.committedOffsets(world.env.topics.product)).toBe(0);
    expect(await world.exists('page:product:7')).toBe(true);
    const failures = service.logLines('invalidation saga failed; retrying with back-off');
    expect(failures[0]).toMatchObject({
      data_types: ['global', 'products'],
      event_ids: [event.eventId],
    });

    // The uncommitted offset means Kafka delivers the event again to a fresh process.
    await service.kill();
    await blocker.query('ROLLBACK');
    service = await ServiceProcess.start(world.env);
    await world.waitApplied([event.eventId], 1);
    const after = await world.versions();
    expect(after.products).toBe(before.products + 1);
    expect(after.global).toBe(before.global + 1);
    expect(await world.exists('page:product:7')).toBe(false);
    expect(await world.dlqMessages()).toEqual([]);
  });
});
