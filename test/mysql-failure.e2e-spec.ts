import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { productUpdated } from './support/events';
import { World } from './support/world';

describe('a MySQL failure inside the transaction', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('mysqlfail');
    service = await ServiceProcess.start(world.env, {
      LOCK_RETRY_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '500',
    });
    // A real server-side error raised by MariaDB after the inbox insert and the version update.
    await world.sql.query('CREATE TABLE fail_switch (id INT PRIMARY KEY)');
    await world.sql.query(`
      CREATE TRIGGER fail_audit BEFORE INSERT ON version_audit FOR EACH ROW
      BEGIN
        IF (SELECT COUNT(*) FROM fail_switch) > 0 THEN
          SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure';
        END IF;
      END`);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('commits nothing, commits no offset, and the event is applied on redelivery', async () => {
    await world.sql.query('INSERT INTO fail_switch VALUES (1)');
    await world.tag('product:7', ['page:product:7']);
    const before = await world.versions();
    const event = productUpdated({ productId: 7 });

    await world.publish([event]);
    await waitFor(
      'three failed attempts',
      async () => (await service.metric('invalidator_saga_retries_total')) >= 3,
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
    await world.sql.query('DELETE FROM fail_switch');
    service = await ServiceProcess.start(world.env);
    await waitFor('the event applied', async () => (await world.inboxCount([event.eventId])) === 1);
    await waitFor(
      'the offset committed',
      async () => (await world.committedOffsets(world.env.topics.product)) === 1,
    );
    const after = await world.versions();
    expect(after.products).toBe(before.products + 1);
    expect(after.global).toBe(before.global + 1);
    expect(await world.exists('page:product:7')).toBe(false);
  });
});
