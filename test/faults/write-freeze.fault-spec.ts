import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/test-env';
import { productUpdated } from '../support/events';
import { World } from '../support/world';

jest.setTimeout(180000);

/** A trigger that refuses every version bump: MySQL up and answering, but taking no write. */
const FREEZE = `
  CREATE TRIGGER freeze_versions BEFORE UPDATE ON shop_data_versions FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'writes frozen by freeze_versions'`;

describe('a trigger that freezes every write', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('freeze', 1);
    service = await ServiceProcess.start(world.env, {
      LOCK_RETRY_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
      BREAKER_WINDOW_MS: '10000',
      BREAKER_MIN_VOLUME: '3',
      BREAKER_COOLDOWN_MS: '1000',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  const nextOffset = async () => {
    const [row] = await world.query<{ next_offset: string }>(
      'SELECT next_offset FROM partition_offsets WHERE topic = ?',
      [world.env.topics.product],
    );
    return Number(row?.next_offset ?? 0);
  };

  it('is a store fault, not poison: nothing dead-lettered, the ledger holds, the breaker opens; dropped, every event is applied', async () => {
    const first = productUpdated({ productId: 'f0' });
    await world.publish([first]);
    await world.waitApplied([first.eventId], 1);
    const ledgerBefore = await nextOffset();

    await world.sql.query(FREEZE);
    const frozen = Array.from({ length: 8 }, (_, i) => productUpdated({ productId: `f${i + 1}` }));
    await world.publish(frozen);

    // Either outcome ends the wait: the breaker opening (a store fault) or a letter (poison).
    await waitFor(
      'the breaker to open, or a dead letter',
      async () =>
        (await service.metric('invalidator_circuit_state')) === 2 ||
        (await service.metric('invalidator_dead_letters_total')) > 0,
      90000,
      250,
    );
    // Several more rounds of retries while frozen, and still nothing given up.
    const retries = await service.metric('invalidator_saga_retries_total');
    await waitFor(
      'more retries while frozen',
      async () =>
        (await service.metric('invalidator_saga_retries_total')) >= retries + 5 ||
        (await service.metric('invalidator_dead_letters_total')) > 0,
      60000,
      250,
    );
    expect(await service.metric('invalidator_dead_letters_total')).toBe(0);
    expect(await world.dlqMessages()).toEqual([]);
    expect(await nextOffset()).toBe(ledgerBefore);
    expect(await world.committedOffsets(world.env.topics.product)).toBe(1);
    expect(await world.inboxCount(frozen.map((e) => e.eventId))).toBe(0);

    await world.sql.query('DROP TRIGGER freeze_versions');
    await world.waitApplied(
      frozen.map((e) => e.eventId),
      1 + frozen.length,
    );
    expect(await nextOffset()).toBe(ledgerBefore + frozen.length);
    expect(await world.dlqMessages()).toEqual([]);
    await waitFor(
      'the breaker to close',
      async () => (await service.metric('invalidator_circuit_state')) === 0,
    );
  });
});
