import mysql, { Connection } from 'mysql2/promise';
import { randomUUID } from 'node:crypto';
import { ServiceProcess } from '../support/service-process';
import { mysqlTestOptions } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(180000);

const TOKEN = 'sigterm-requests-admin-token';
const BOUND_MS = 8000;

/**
 * SIGTERM while an HTTP request is stuck in MySQL: the consumer leaves its group at once (its
 * partitions go to another instance), not after the request, and the process exits in the bound.
 */
describe('SIGTERM with a request in flight', () => {
  let world: World;
  let service: ServiceProcess | undefined;
  let blocker: Connection | undefined;

  beforeEach(async () => {
    world = await World.create('termreq');
  });

  afterEach(async () => {
    await blocker?.end();
    blocker = undefined;
    await service?.stop('SIGKILL');
    await world?.close();
  });

  async function members(): Promise<number> {
    const { groups } = await world.admin.describeGroups([world.env.groupId]);
    return groups[0]?.members.length ?? 0;
  }

  /** SIGTERM; when the group had no member left, and when the process exited (ms after it). */
  async function terminate(svc: ServiceProcess) {
    const sent = Date.now();
    const exited = svc.stop('SIGTERM', BOUND_MS + 10000).then(() => Date.now() - sent);
    let leftAfter: number | undefined;
    while (leftAfter === undefined && Date.now() - sent < BOUND_MS + 5000) {
      if ((await members()) === 0) leftAfter = Date.now() - sent;
      else await new Promise((r) => setTimeout(r, 100));
    }
    return { leftAfter, exitedAfter: await exited };
  }

  async function startService(extra: Record<string, string>): Promise<ServiceProcess> {
    const svc = await ServiceProcess.start(world.env, {
      SHUTDOWN_TIMEOUT_MS: String(BOUND_MS),
      ...extra,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await members()).toBe(1);
    return svc;
  }

  it('an admin bump waiting on a row lock: the group is left before the bump answers', async () => {
    const svc = (service = await startService({
      ADMIN_TOKEN: TOKEN,
      VERSION_LOCK_TIMEOUT_MS: '5000',
      MYSQL_QUERY_TIMEOUT_MS: '6000',
    }));
    blocker = await mysql.createConnection(mysqlTestOptions(world.env.mysqlUrl));
    await blocker.query('BEGIN');
    await blocker.query('SELECT * FROM shop_data_versions FOR UPDATE');
    const bump = fetch(`${svc.url}/admin/versions/bump`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ types: ['products'] }),
    }).then(
      (res) => ({ status: res.status, at: Date.now() }),
      () => ({ status: 0, at: Date.now() }),
    );
    await new Promise((r) => setTimeout(r, 1000));

    const sent = Date.now();
    const { leftAfter, exitedAfter } = await terminate(svc);
    const answeredAfter = (await bump).at - sent;
    console.log(
      `sigterm with a bump in flight: group left after ${leftAfter} ms, bump answered after ` +
        `${answeredAfter} ms, exit ${svc.exitCode} after ${exitedAfter} ms (bound ${BOUND_MS} ms)`,
    );
    expect(leftAfter).toBeDefined();
    expect(leftAfter).toBeLessThan(answeredAfter);
    expect(exitedAfter).toBeLessThan(BOUND_MS);
    expect(svc.exitCode).toBe(0);
  });

  it('a lookup stuck behind a table lock: the group is left at once, the process exits in the bound', async () => {
    const svc = (service = await startService({}));
    blocker = await mysql.createConnection(mysqlTestOptions(world.env.mysqlUrl));
    await blocker.query('LOCK TABLES applied_batches WRITE');
    const lookup = fetch(`${svc.url}/events/${randomUUID()}`).then(
      (res) => res.status,
      () => 0,
    );
    await new Promise((r) => setTimeout(r, 500));

    const { leftAfter, exitedAfter } = await terminate(svc);
    console.log(
      `sigterm with a lookup in flight: group left after ${leftAfter} ms, lookup answered ` +
        `${await lookup}, exit ${svc.exitCode} after ${exitedAfter} ms (bound ${BOUND_MS} ms)`,
    );
    expect(leftAfter).toBeDefined();
    expect(leftAfter).toBeLessThan(BOUND_MS);
    expect(exitedAfter).toBeLessThan(BOUND_MS);
    expect(svc.exitCode).toBe(0);
  });
});
