import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './support/cli-process';
import { categoryUpdated, productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { serviceSecurityEnv, waitFor } from './support/test-env';
import { World } from './support/world';

// Collected only on the secured stack (the secure leg of test/legs.ts): every secret of the
// service is a real one there, given as a file.
describe('no secret in any output of a secured run', () => {
  let world: World;
  let proxy: TcpProxy;
  let service: ServiceProcess;
  let dir: string;
  const adminToken = `tok-${randomBytes(20).toString('hex')}`;
  const migrationsPassword = `mig-${randomBytes(20).toString('hex')}`;
  const outputs: [string, string][] = [];
  const secrets: [string, string][] = [];

  beforeAll(async () => {
    world = await World.create('leak', 2);
    dir = mkdtempSync(join(tmpdir(), 'leak-'));
    writeFileSync(join(dir, 'admin-token'), `${adminToken}\n`);
    writeFileSync(join(dir, 'migrations'), migrationsPassword);
    const security = serviceSecurityEnv();
    for (const name of ['KAFKA_SASL_PASSWORD', 'REDIS_PASSWORD', 'MYSQL_PASSWORD'])
      secrets.push([name, readFileSync(security[`${name}_FILE`], 'utf8').trim()]);
    secrets.push(['ADMIN_TOKEN', adminToken], ['MYSQL_MIGRATIONS_PASSWORD', migrationsPassword]);

    // Redis behind a proxy we can cut: the run includes a store outage.
    const redisUrl = new URL(world.env.redisUrl);
    proxy = await TcpProxy.start(redisUrl.hostname, Number(redisUrl.port));
    redisUrl.port = String(proxy.port);
    service = await ServiceProcess.start(world.env, {
      REDIS_URL: redisUrl.toString(),
      ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
      MYSQL_MIGRATIONS_PASSWORD_FILE: join(dir, 'migrations'),
      RETRY_MAX_DELAY_MS: '500',
      LOG_LEVEL: 'debug',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await world?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async (name: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${service.url}${path}`, { headers });
    const text = await res.text();
    outputs.push([`${name} (${res.status})`, `${JSON.stringify([...res.headers])}\n${text}`]);
    return { status: res.status, text };
  };
  const bump = async (name: string, token: string | undefined, body: string) => {
    const res = await fetch(`${service.url}/admin/versions/bump`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });
    outputs.push([`admin ${name} (${res.status})`, await res.text()]);
    return res.status;
  };

  it('logs, errors, /metrics, /monitoring/*, the dashboard and dead letters carry none of the secrets', async () => {
    // Good events, and bad ones for the dead-letter topic.
    const good = [productUpdated({ productId: '1' }), categoryUpdated('2')];
    await world.publish(good);
    await world.publish(
      [
        { key: 'x', value: 'not json {' },
        { key: 'y', value: JSON.stringify({ type: 'ProductUpdated', productId: '' }) },
      ],
      world.env.topics.product,
    );
    await world.waitApplied([good[0].eventId], 3);

    // Refused admin calls (no token, a wrong one, a bad body) and an accepted one.
    expect(await bump('no token', undefined, '{"types":["products"]}')).toBe(401);
    expect(await bump('wrong token', `${adminToken}x`, '{"types":["products"]}')).toBe(401);
    expect(await bump('bad body', adminToken, '{"types":"products"}')).toBe(400);
    expect(await bump('accepted', adminToken, '{"types":["products"]}')).toBe(200);

    // A Redis outage mid-run: sagas fail and retry, readiness drops, the breaker may open.
    proxy.cut();
    const during = productUpdated({ productId: '3' });
    await world.publish([during]);
    await waitFor('a failed saga logged', async () =>
      service.logs().includes('invalidation saga failed; retrying with back-off'),
    );
    await get('ready during the outage', '/health/ready');
    proxy.restore();
    await world.waitApplied([during.eventId], 4);

    // A start-up refused by a store (a wrong Kafka password): its error output too.
    const refused = await ServiceProcess.startExpectingExit(world.env, {
      KAFKA_SASL_PASSWORD_FILE: join(dir, 'migrations'),
      ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
    });
    expect(refused.code).toBe(3);
    outputs.push(['refused start-up', refused.output]);
    // A configuration error naming a secret setting (both forms set).
    const conflicting = await ServiceProcess.startExpectingExit(world.env, {
      ADMIN_TOKEN: adminToken,
      ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
    });
    expect(conflicting.code).toBe(2);
    expect(conflicting.output).toContain('ADMIN_TOKEN and ADMIN_TOKEN_FILE are both set');
    outputs.push(['config error', conflicting.output]);
    // The CLI with the same settings.
    const cli = await runCli(world.env, ['bump', 'categories'], {
      ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
    });
    expect(cli.code).toBe(0);
    outputs.push(['cli', cli.stdout + cli.stderr]);

    for (const [name, path] of [
      ['metrics', '/metrics'],
      ['monitoring metrics', '/monitoring/metrics'],
      ['monitoring incidents', '/monitoring/incidents?hours=24'],
      ['live', '/health/live'],
      ['ready', '/health/ready'],
      ['versions', '/versions'],
      ['not found', '/nowhere'],
    ])
      await get(name, path);
    await get('dashboard page', '/dashboard');
    await get('dashboard snapshot', '/dashboard/snapshot', {
      authorization: `Bearer ${adminToken}`,
    });
    for (const letter of await world.dlqMessages())
      outputs.push(['dead letter', JSON.stringify(letter)]);
    outputs.push(['incidents table', JSON.stringify(await world.query('SELECT * FROM incidents'))]);
    outputs.push(['service logs', service.logs()]);

    // Not vacuous: the run did meet each failure, and the outputs say so.
    const all = outputs.map(([, text]) => text).join('\n');
    expect(all).toContain('invalidation saga failed; retrying with back-off');
    expect(all).toMatch(
      /invalidator_admin_access_total\{route="bump",outcome="refused",reason="wrong_token"\} 1/,
    );
    expect(all).toContain('Kafka at');
    expect(outputs.filter(([name]) => name === 'dead letter')).toHaveLength(2);

    for (const [setting, secret] of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(16);
      const leaks = outputs.filter(([, text]) => text.includes(secret)).map(([name]) => name);
      expect({ setting, leaks }).toEqual({ setting, leaks: [] });
    }
  });
});
