import { ServiceProcess } from './support/service-process';
import { World } from './support/world';

const TOKEN = 'hardening-admin-token-7c1e9a';

describe('HTTP hardening', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('harden', 1);
    service = await ServiceProcess.start(world.env, {
      ADMIN_TOKEN: TOKEN,
      ADMIN_LOCKOUT_ATTEMPTS: '10',
      ADMIN_LOCKOUT_WINDOW_MS: '4000',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  const bump = (token: string | undefined, body = '{"types":["products"]}') =>
    fetch(`${service.url}/admin/versions/bump`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });

  it('every response carries the security headers, JSON and HTML, found or not', async () => {
    for (const path of ['/health/live', '/metrics', '/versions', '/nowhere', '/dashboard']) {
      const res = await fetch(`${service.url}${path}`);
      expect({ path, csp: res.headers.get('content-security-policy') }).toEqual({
        path,
        csp: expect.stringContaining("default-src 'none'"),
      });
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
    // The HTML page: no inline script, scripts from the service only, no framing.
    const csp = (await fetch(`${service.url}/dashboard`)).headers.get('content-security-policy');
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('a body over the limit is refused with 413, a malformed one with 400, neither with a stack trace', async () => {
    const big = await bump(TOKEN, JSON.stringify({ types: ['products'], pad: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
    const bigText = await big.text();
    expect(JSON.parse(bigText)).toEqual({ statusCode: 413, message: 'request body too large' });
    const bad = await bump(TOKEN, '{"types": [');
    expect(bad.status).toBe(400);
    const badText = await bad.text();
    for (const text of [bigText, badText]) {
      expect(text).not.toMatch(/\bat \S+ \(|node_modules|\.js:\d+/);
    }
  });

  it('after 10 bad tokens in the window the client gets 429 with Retry-After, even with the right token, counted; the window passing lets it in again', async () => {
    const lockedBefore = await service.metric('invalidator_admin_access_total', {
      reason: 'locked_out',
    });
    for (let i = 0; i < 10; i++) expect((await bump(`wrong-${i}`)).status).toBe(401);
    const locked = await bump(TOKEN);
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(4);
    expect(await locked.text()).not.toContain(TOKEN);
    expect((await bump(undefined)).status).toBe(429);
    expect(
      await service.metric('invalidator_admin_access_total', {
        route: 'bump',
        outcome: 'refused',
        reason: 'locked_out',
      }),
    ).toBe(lockedBefore + 2);
    expect(
      await service.metric('invalidator_admin_access_total', { reason: 'wrong_token' }),
    ).toBeGreaterThanOrEqual(10);

    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    expect((await bump(TOKEN)).status).toBe(200);
  });
});
