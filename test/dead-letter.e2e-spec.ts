import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { productUpdated } from './support/events';
import { World } from './support/world';

// Checked on the main thread (a batch this small), and on the check thread (every batch).
describe.each([
  ['main', '1000'],
  ['check', '1'],
])('dead-letter topic, messages checked on the %s thread', (thread, minMessages) => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('dlq', 1);
    service = await ServiceProcess.start(world.env, {
      RETRY_MAX_DELAY_MS: '200',
      LOCK_RETRY_DELAY_MS: '20',
      CHECK_THREAD_MIN_MESSAGES: minMessages,
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('every kind of bad message is dead-lettered with its reason and Spring headers; the good ones around it are applied', async () => {
    const good = [
      productUpdated({ productId: 1 }),
      productUpdated({ productId: 2 }),
      productUpdated({ productId: 3 }),
    ];
    const poison = productUpdated({ productId: 666 });
    await world.poison([poison.eventId]);
    const bad = [
      { key: 'a', value: '{not json' },
      {
        key: 'b',
        value: JSON.stringify({
          ...good[0],
          eventId: 'c8a2e3a4-0000-4000-8000-000000000001',
          productId: undefined,
        }),
      },
      {
        key: 'c',
        value: JSON.stringify({
          ...good[0],
          eventId: 'c8a2e3a4-0000-4000-8000-000000000002',
          type: 'PriceChanged',
        }),
      },
      { key: 'd', value: Buffer.alloc(70 * 1024, 'x') },
    ];
    await world.publish([good[0], bad[0], bad[1], good[1], bad[2], poison, bad[3], good[2]]);

    await waitFor(
      'five dead letters',
      async () => (await world.dlqMessages()).length === 5,
      120000,
      500,
    );
    await waitFor(
      'every offset committed',
      async () => (await world.committedOffsets(world.env.topics.product)) === 8,
    );
    expect(await world.inboxCount(good.map((e) => e.eventId))).toBe(3);
    expect(await world.inboxCount([poison.eventId])).toBe(0);

    const letters = await world.dlqMessages();
    const reasons = letters.map((l) => l.headers['x-error-reason']);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^not JSON/),
        expect.stringMatching(/^schema violation: productId/),
        expect.stringMatching(/^unknown type: "PriceChanged"/),
        expect.stringMatching(/over the 65536 byte limit/),
        expect.stringMatching(/^poison: .*refused by poison_inbox/),
      ]),
    );
    for (const letter of letters) {
      expect(letter.headers).toMatchObject({
        'x-original-topic': world.env.topics.product,
        'x-original-partition': '0',
        'x-consumer-group': world.env.groupId,
        'kafka_dlt-original-topic': world.env.topics.product,
        'kafka_dlt-original-consumer-group': world.env.groupId,
      });
      expect(Number(letter.headers['x-original-offset'])).toBeGreaterThanOrEqual(0);
      expect(letter.headers['kafka_dlt-exception-message']).toBe(letter.headers['x-error-reason']);
    }
    const poisonLetter = letters.find((l) => l.headers['x-error-reason'].startsWith('poison'));
    expect(JSON.parse(poisonLetter?.value ?? '{}').eventId).toBe(poison.eventId);
    expect(await service.metric('invalidator_dead_letters_total')).toBe(5);
    expect(await service.metric('invalidator_dead_letters_total', { reason: 'poison' })).toBe(1);
    expect(await service.metric('invalidator_events_total', { outcome: 'applied' })).toBe(3);
    expect(await service.metric('invalidator_batches_checked_total', { thread })).toBeGreaterThan(
      0,
    );
    const other = thread === 'main' ? 'check' : 'main';
    expect(await service.metric('invalidator_batches_checked_total', { thread: other })).toBe(0);
  });
});
