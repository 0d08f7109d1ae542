import { ServiceProcess } from '../support/service-process';
import {
  expectOracle,
  mixedLoad,
  publishInBackground,
  reportFigures,
  seedTags,
  waitDrained,
} from '../support/fault-kit';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

const LOCK_TTL_MS = 1000;

describe('a lock holder stalled past its TTL', () => {
  let world: World;
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    world = await World.create('stop');
    const env = {
      LOCK_TTL_MS: String(LOCK_TTL_MS),
      LOCK_RETRY_ATTEMPTS: '6',
      KAFKA_SESSION_TIMEOUT_MS: '20000',
    };
    services = [
      await ServiceProcess.start(world.env, env),
      await ServiceProcess.start(world.env, env),
    ];
  });

  afterAll(async () => {
    for (const s of services) if (s.pid && !s.exited()) process.kill(s.pid, 'SIGCONT');
    await Promise.all(services.map((s) => s.stop()));
    await world?.close();
  });

  it('SIGSTOP while holding the lock: the other proceeds; on SIGCONT the stale holder overwrites nothing', async () => {
    const events = mixedLoad(2000, 'st');
    const tags = await seedTags(world, events);
    const publishing = publishInBackground(world, events, 20, 100);
    const [sleeper, worker] = services;

    // Three rounds: stop the sleeper at a moment the global lock is held, past the TTL.
    let stops = 0;
    for (let round = 0; round < 3; round++) {
      await waitFor(
        'a held lock',
        async () => (await world.redis.exists('lock:shop.version.global')) === 1,
        30000,
        1,
      );
      process.kill(sleeper.pid ?? 0, 'SIGSTOP');
      stops++;
      const appliedAtStop = await world.inboxCount();
      await new Promise((r) => setTimeout(r, LOCK_TTL_MS * 3));
      // The other instance went on while the sleeper slept.
      expect(await world.inboxCount()).toBeGreaterThanOrEqual(appliedAtStop);
      process.kill(sleeper.pid ?? 0, 'SIGCONT');
      await new Promise((r) => setTimeout(r, 500));
    }
    const faultEnded = Date.now();
    await publishing;
    const ids = events.map((e) => e.eventId);
    await waitDrained(world, ids);
    const drainMs = Date.now() - faultEnded;

    await expectOracle(world, ids, 0, tags);
    expect(worker.exited() || sleeper.exited()).toBe(false);
    // Whatever the sleeper held when it woke was refused or re-taken, never written over newer data.
    const refusals =
      (await sleeper.metric('invalidator_saga_retries_total', { error: 'StaleFenceError' })) +
      (await sleeper.metric('invalidator_saga_retries_total', { error: 'LockLostError' }));
    reportFigures({
      case: 'sigstop',
      events: events.length,
      bad: 0,
      faults: `${stops} x SIGSTOP ${LOCK_TTL_MS * 3} ms (TTL ${LOCK_TTL_MS} ms), ${refusals} fenced/lost-lock refusals`,
      drainMs,
      dlq: 0,
    });
  });
});
