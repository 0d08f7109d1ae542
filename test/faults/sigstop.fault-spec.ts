import { ServiceProcess } from '../support/service-process';
import {
  expectOracle,
  mixedLoad,
  publishInBackground,
  reportFigures,
  seedTags,
  waitDrained,
} from '../support/fault-kit';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

const LOCK_TTL_MS = 1000;
const STOP_MS = LOCK_TTL_MS * 3;
const ROUNDS = 3;
const GLOBAL_LOCK = 'lock:shop.version.global';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a lock holder stalled past its TTL', () => {
  let world: World;
  let sleeperMysql: TcpProxy;
  let sleeper: ServiceProcess;
  let worker: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('stop');
    const env = {
      LOCK_TTL_MS: String(LOCK_TTL_MS),
      LOCK_RETRY_ATTEMPTS: '6',
      KAFKA_SESSION_TIMEOUT_MS: '20000',
    };
    // The sleeper reaches MySQL through a proxy the test can hold: that pins the sleeper, once
    // it has taken the Redis lock, just before its transaction (whose first statement takes the fencing token).
    const mysqlUrl = new URL(world.env.mysqlUrl);
    sleeperMysql = await TcpProxy.start(mysqlUrl.hostname, Number(mysqlUrl.port));
    mysqlUrl.port = String(sleeperMysql.port);
    sleeper = await ServiceProcess.start(world.env, { ...env, MYSQL_URL: mysqlUrl.toString() });
    worker = await ServiceProcess.start(world.env, env);
  });

  afterAll(async () => {
    sleeperMysql?.restore();
    for (const s of [sleeper, worker]) if (s?.pid && !s.exited()) process.kill(s.pid, 'SIGCONT');
    await Promise.all([sleeper, worker].map((s) => s?.stop()));
    await sleeperMysql?.close();
    await world?.close();
  });

  const refusals = async (service: ServiceProcess) =>
    (await service.metric('invalidator_saga_retries_total', { error: 'StaleFenceError' })) +
    (await service.metric('invalidator_saga_retries_total', { error: 'LockLostError' }));

  /**
   * Makes the sleeper the holder of the global lock: its MySQL held, the worker stopped, a lock
   * value appearing after that can only be the sleeper's, and the sleeper is then stuck right
   * after the grant (its transaction, fencing token first, waits in the proxy). False if the
   * sleeper was caught inside a transaction instead (it takes no new lock): try again.
   */
  async function pinSleeperAsHolder(): Promise<boolean> {
    sleeperMysql.hold();
    process.kill(worker.pid ?? 0, 'SIGSTOP');
    const before = await world.redis.get(GLOBAL_LOCK);
    const taken = await waitFor(
      "the sleeper's own lock",
      async () => {
        const value = await world.redis.get(GLOBAL_LOCK);
        return value !== null && value !== before;
      },
      5000,
      5,
    ).catch(() => false);
    if (!taken) {
      process.kill(worker.pid ?? 0, 'SIGCONT');
      sleeperMysql.restore();
      await sleep(1000);
    }
    return taken;
  }

  it('SIGSTOP while holding the lock: the other proceeds meanwhile; on SIGCONT the stale holder is refused and overwrites nothing', async () => {
    const events = mixedLoad(3000, 'st');
    const tags = await seedTags(world, events);
    const publishing = publishInBackground(world, events, 10, 100);
    await waitFor('consumption under way', async () => (await world.inboxCount()) > 0);

    let stops = 0;
    let progress = 0;
    let refused = 0;
    for (let tries = 0; stops < ROUNDS && tries < 20; tries++) {
      if (!(await pinSleeperAsHolder())) continue;
      const refusalsBefore = await refusals(sleeper);
      process.kill(sleeper.pid ?? 0, 'SIGSTOP');
      process.kill(worker.pid ?? 0, 'SIGCONT');
      stops++;
      const atStop = (await world.versions()).global ?? 0;
      await sleep(STOP_MS);
      // The stopped holder's lock expired: the other instance bumped while it slept.
      const beforeWake = (await world.versions()).global ?? 0;
      expect(beforeWake).toBeGreaterThan(atStop);
      progress += beforeWake - atStop;

      sleeperMysql.restore();
      process.kill(sleeper.pid ?? 0, 'SIGCONT');
      // The woken holder goes on with a lock it no longer owns: the commit must be refused.
      await waitFor(
        'the stale holder refused',
        async () => (await refusals(sleeper)) > refusalsBefore,
        15000,
      );
      refused += (await refusals(sleeper)) - refusalsBefore;
      await sleep(500);
    }
    expect(stops).toBe(ROUNDS);
    const faultEnded = Date.now();
    await publishing;
    const ids = events.map((e) => e.eventId);
    await waitDrained(world, ids);
    const drainMs = Date.now() - faultEnded;

    await expectOracle(world, ids, 0, tags);
    expect(worker.exited() || sleeper.exited()).toBe(false);
    reportFigures({
      case: 'sigstop',
      events: events.length,
      bad: 0,
      faults: `${stops} x SIGSTOP of the lock holder ${STOP_MS} ms (TTL ${LOCK_TTL_MS} ms); other instance bumped global ${progress} times meanwhile; ${refused} fenced/lost-lock refusals`,
      drainMs,
      dlq: 0,
    });
  });
});
