import { ServiceProcess } from '../support/service-process';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

const QUERY_TIMEOUT_MS = 3000;
const WAIT_TIMEOUT_S = 5;
const DROP_MS = 10000;
/** After the network returns: hung statements time out, the pool reconnects, sagas go on. */
const RECOVERY_BOUND_MS = 20000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MySQL silently unreachable (packets dropped, no reset) mid-load', () => {
  let world: World;
  let proxy: TcpProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('mysqldrop');
    const url = new URL(world.env.mysqlUrl);
    proxy = await TcpProxy.start(url.hostname, Number(url.port));
    url.port = String(proxy.port);
    service = await ServiceProcess.start(world.env, {
      MYSQL_URL: url.toString(),
      MYSQL_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      MYSQL_WAIT_TIMEOUT_S: String(WAIT_TIMEOUT_S),
      VERSION_LOCK_TIMEOUT_MS: '2000',
      BREAKER_TIMEOUT_MS: '8000',
      RETRY_MAX_DELAY_MS: '1000',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await world?.close();
  });

  /** True if some other session holds the `global` row lock right now. */
  async function globalRowLocked(): Promise<boolean> {
    await world.sql.query('START TRANSACTION');
    try {
      await world.sql.query(
        "SELECT version FROM shop_data_versions WHERE data_type = 'global' FOR UPDATE NOWAIT",
      );
      return false;
    } catch (error) {
      if ((error as { errno?: number }).errno === 1205) return true;
      throw error;
    } finally {
      await world.sql.query('ROLLBACK');
    }
  }

  /**
   * Drops the network at a moment the service's transaction holds the `global` row lock: bytes
   * held first, the lock checked from a direct session, then everything held is discarded.
   */
  async function dropWhileHoldingGlobal(): Promise<void> {
    for (let tries = 0; tries < 200; tries++) {
      proxy.hold();
      if (await globalRowLocked()) {
        proxy.blackhole();
        return;
      }
      proxy.restore();
      await sleep(20);
    }
    throw new Error('never caught a transaction holding the global row lock');
  }

  it('a hung statement and its row locks are bounded: other sagas go on and the service recovers by itself', async () => {
    const events = mixedLoad(2000, 'md');
    const tags = await seedTags(world, events);
    const publishing = publishInBackground(world, events, 20, 50);
    await waitFor('consumption under way', async () => (await world.inboxCount()) > 0);

    await dropWhileHoldingGlobal();
    const dropped = Date.now();

    // Another saga (here: a direct session) needing `global` waits at most until the server ends
    // the silent session (wait_timeout) and rolls its transaction back.
    await world.sql.query('SET SESSION innodb_lock_wait_timeout = 60');
    await world.sql.query('START TRANSACTION');
    await world.sql.query(
      "SELECT version FROM shop_data_versions WHERE data_type = 'global' FOR UPDATE",
    );
    const blockedMs = Date.now() - dropped;
    await world.sql.query('ROLLBACK');
    expect(blockedMs).toBeLessThanOrEqual(WAIT_TIMEOUT_S * 1000 + 2000);

    await sleep(Math.max(0, DROP_MS - (Date.now() - dropped)));
    const appliedAtRestore = await world.inboxCount();
    expect(service.exited()).toBe(false);
    proxy.restore();
    const restored = Date.now();

    await waitFor(
      'the service applying events again',
      async () => (await world.inboxCount()) > appliedAtRestore,
      RECOVERY_BOUND_MS,
      100,
    );
    const recoveryMs = Date.now() - restored;
    expect(service.exited()).toBe(false);
    await drainAndCheck(world, {
      case: 'mysql-silent-drop',
      events,
      tags,
      faults: `MySQL packets dropped for ${DROP_MS} ms while holding the global row lock; lock held ${blockedMs} ms after the drop (wait_timeout ${WAIT_TIMEOUT_S} s); applying again ${recoveryMs} ms after the network returned`,
      faultEnded: restored,
      publishing,
    });
  });
});
