import { ServiceProcess } from './support/service-process';
import { World } from './support/world';

const TOKEN = 'redaction-admin-token-5f3c9a1e7b';
const COOKIE = 'session=cookie-secret-8d2e4b6a';

describe('log redaction', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('redact', 1);
    service = await ServiceProcess.start(world.env, {
      ADMIN_TOKEN: TOKEN,
      LOCK_RETRY_ATTEMPTS: '1',
      LOCK_RETRY_DELAY_MS: '20',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('the admin bearer token and cookies never reach the logs, even from lines logged during the request', async () => {
    // Someone else holds the products lock: the manual bump takes the fallback and logs a WARN.
    await world.redis.set('lock:shop.version.products', 'someone-else', 'PX', 120000);
    const res = await fetch(`${service.url}/admin/versions/bump`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
        cookie: COOKIE,
      },
      body: JSON.stringify({ types: ['products'] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { path: string }).path).toBe('fallback');

    // Not vacuous: the fallback warning was written inside the request, with its request context.
    const warnings = service.logLines(
      'redis lock unavailable; running the MySQL row-lock fallback',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toHaveProperty('req');

    const logs = service.logs();
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain('cookie-secret-8d2e4b6a');
  });
});
