import { runCli } from './support/cli-process';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { productUpdated } from './support/events';
import { World } from './support/world';

jest.setTimeout(180000);

describe('npm run cli -- dlq replay', () => {
  let world: World;
  let service: ServiceProcess;
  const cli = (...args: string[]) => runCli(world.env, ['dlq', 'replay', ...args]);

  beforeAll(async () => {
    world = await World.create('replay', 1);
    service = await ServiceProcess.start(world.env, {
      RETRY_MAX_DELAY_MS: '200',
      LOCK_RETRY_DELAY_MS: '20',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a poison event, its cause fixed, replayed from the DLQ under the same event id, is applied; other letters stay', async () => {
    const good = productUpdated({ productId: 1 });
    const poison = productUpdated({ productId: 666 });
    await world.poison([poison.eventId]);
    await world.publish([good, { key: 'x', value: '{not json' }, poison]);
    await waitFor('two dead letters', async () => (await world.dlqMessages()).length === 2);
    await world.waitApplied([good.eventId], 3);
    expect(await world.inboxCount([poison.eventId])).toBe(0);

    // Past every letter: nothing to replay.
    const none = await cli('--from-offset', '2');
    expect({ code: none.code, out: none.stdout, err: none.stderr }).toMatchObject({ code: 0 });
    expect(none.stdout).toContain('replayed 0 of 0 dead letters read');

    // The cause fixed: the store takes the event now.
    await world.sql.query('DELETE FROM poison_ids');
    const run = await cli('--reason', 'poison', '--from-offset', '0');
    expect({ code: run.code, out: run.stdout, err: run.stderr }).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(poison.eventId);
    expect(run.stdout).toContain(world.env.topics.product);
    expect(run.stdout).toContain('replayed 1 of 2 dead letters read');
    expect(run.stdout).not.toContain('not JSON');

    await waitFor(
      'the replayed event applied',
      async () => (await world.inboxCount([poison.eventId])) === 1,
    );
    // Under the same id, as a new delivery (offset 3) of the original topic.
    const applied = (await world.appliedEvents()).find((e) => e.eventId === poison.eventId);
    expect(applied).toMatchObject({ topic: world.env.topics.product, partition: 0, offset: 3n });
    expect(await world.dlqMessages()).toHaveLength(2);
  });

  it('refuses a bad offset as a usage error', async () => {
    const run = await cli('--from-offset', '-1');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--from-offset');
  });
});
