import { request } from 'node:http';
import { WebSocket } from 'ws';
import { ServiceProcess } from './support/service-process';
import { World } from './support/world';

const TOKEN = 'guard-admin-token-0123456789';
const ATTEMPTS = 6;
const PROTOCOL = 'invalidator.dashboard.v1';
const tokenProtocol = (token: string) => `token.${Buffer.from(token).toString('base64url')}`;

/**
 * Where a request comes from: each case its own loopback address (Linux routes all of
 * 127.0.0.0/8 to lo), so its bad tokens lock out no other case's client.
 */
interface From {
  address: string;
  /** Sent as X-Forwarded-For, as a proxy in front of the service would. */
  forwardedFor?: string;
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

function call(
  service: ServiceProcess,
  method: 'GET' | 'POST',
  path: string,
  from: From,
  token?: string,
): Promise<Answer> {
  const body = method === 'POST' ? JSON.stringify({ types: ['products'] }) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: service.port,
        localAddress: from.address,
        method,
        path,
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const bump = (service: ServiceProcess, from: From, token?: string) =>
  call(service, 'POST', '/admin/versions/bump', from, token);
const snapshot = (service: ServiceProcess, from: From, token?: string) =>
  call(service, 'GET', '/dashboard/snapshot', from, token);

type SocketFate =
  { opened: 'snapshot' } | { closed: number; reason: string } | { refusedWith: number };

/** Opens the dashboard socket and tells how it ended: a snapshot, a close, or no upgrade. */
function socket(
  service: ServiceProcess,
  from: From,
  options: { token?: string; origin?: string } = {},
): Promise<SocketFate> {
  const protocols = options.token ? [PROTOCOL, tokenProtocol(options.token)] : [PROTOCOL];
  const ws = new WebSocket(`ws://127.0.0.1:${service.port}/dashboard/socket`, protocols, {
    localAddress: from.address,
    ...(options.origin ? { origin: options.origin } : {}),
    headers: from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {},
  });
  return new Promise((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const type = (JSON.parse(data.toString()) as { type: string }).type;
      if (type === 'snapshot') resolve({ opened: 'snapshot' });
      ws.close();
    });
    ws.on('close', (code, reason) => resolve({ closed: code, reason: reason.toString() }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ refusedWith: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.on('error', (error) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}

const lockedOut = (answer: Answer) => {
  expect(answer.status).toBe(429);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
};

describe('one guard for the admin token, on every route, shared by every instance', () => {
  let world: World;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let proxied: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('guard', 1);
    const settings = {
      ADMIN_TOKEN: TOKEN,
      ADMIN_LOCKOUT_ATTEMPTS: String(ATTEMPTS),
      ADMIN_LOCKOUT_WINDOW_MS: '120000',
    };
    [a, b, proxied] = await Promise.all([
      ServiceProcess.start(world.env, settings),
      ServiceProcess.start(world.env, settings),
      ServiceProcess.start(world.env, { ...settings, HTTP_TRUST_PROXY: 'loopback' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), proxied?.stop()]);
    await world?.close();
  });

  it('bad tokens through the snapshot route and the dashboard socket count towards the lockout of the bump route', async () => {
    const from = { address: '127.0.0.2' };
    for (let i = 0; i < ATTEMPTS / 2; i++) {
      expect((await snapshot(a, from, `wrong-token-${i}`)).status).toBe(401);
      expect(await socket(a, from, { token: `wrong-token-${i}` })).toMatchObject({ closed: 4401 });
    }
    lockedOut(await bump(a, from, TOKEN));
    lockedOut(await snapshot(a, from, TOKEN));
    expect(await socket(a, from, { token: TOKEN })).toEqual({
      closed: 4423,
      reason: expect.stringMatching(/^locked out: too many bad tokens; retry in \d+ s$/),
    });
    for (const route of ['bump', 'dashboard'])
      expect(
        await a.metric('invalidator_admin_access_total', { route, reason: 'locked_out' }),
      ).toBeGreaterThanOrEqual(1);
    // Another client is not locked out.
    expect((await bump(a, { address: '127.0.0.3' }, TOKEN)).status).toBe(200);
  });

  it('two instances share the lockout: bad tokens sent to one lock the client out of the other', async () => {
    const from = { address: '127.0.0.4' };
    for (let i = 0; i < ATTEMPTS; i++) expect((await bump(a, from, `wrong-${i}`)).status).toBe(401);
    lockedOut(await bump(b, from, TOKEN));
    lockedOut(await snapshot(b, from, TOKEN));
  });

  it('guesses sent at once to two instances are judged at most ADMIN_LOCKOUT_ATTEMPTS times', async () => {
    const from = { address: '127.0.0.5' };
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => bump(i % 2 ? a : b, from, `guess-${i}`)),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(ATTEMPTS);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40 - ATTEMPTS);
  });

  it('X-Forwarded-For is not honoured by default: a client cannot shed its lockout by sending one', async () => {
    const address = '127.0.0.6';
    for (let i = 0; i < ATTEMPTS; i++) {
      const from = { address, forwardedFor: `198.51.100.${i + 1}` };
      expect((await bump(a, from, `wrong-${i}`)).status).toBe(401);
    }
    lockedOut(await bump(a, { address, forwardedFor: '198.51.100.99' }, TOKEN));
    expect(
      await socket(a, { address, forwardedFor: '198.51.100.99' }, { token: TOKEN }),
    ).toMatchObject({ closed: 4423 });
  });

  it('with HTTP_TRUST_PROXY trusting the proxy, the client is the address the proxy reports, on HTTP and the socket', async () => {
    const proxy = '127.0.0.7';
    const client = { address: proxy, forwardedFor: '203.0.113.7' };
    for (let i = 0; i < ATTEMPTS; i++)
      expect((await bump(proxied, client, `wrong-${i}`)).status).toBe(401);
    lockedOut(await bump(proxied, client, TOKEN));
    expect(await socket(proxied, client, { token: TOKEN })).toMatchObject({ closed: 4423 });
    // The same proxy relaying another client: that client is not locked out.
    const other = { address: proxy, forwardedFor: '203.0.113.8' };
    expect((await bump(proxied, other, TOKEN)).status).toBe(200);
    expect(await socket(proxied, other, { token: TOKEN })).toEqual({ opened: 'snapshot' });
    // The instances that do not trust it count the proxy's own address: nothing locked there.
    expect((await bump(a, { address: proxy }, TOKEN)).status).toBe(200);
  });

  it('a WebSocket upgrade from a foreign Origin is refused, even with the right token', async () => {
    const from = { address: '127.0.0.8' };
    expect(await socket(a, from, { token: TOKEN, origin: 'http://evil.example' })).toEqual({
      refusedWith: 403,
    });
    expect(await socket(a, from, { token: TOKEN, origin: `http://127.0.0.1:${a.port}` })).toEqual({
      opened: 'snapshot',
    });
    // Not a browser (no Origin): the token alone decides.
    expect(await socket(a, from, { token: TOKEN })).toEqual({ opened: 'snapshot' });
  });

  it('a bad HTTP_TRUST_PROXY stops start-up with an error naming it', async () => {
    const { code, output } = await ServiceProcess.startExpectingExit(world.env, {
      HTTP_TRUST_PROXY: 'the-load-balancer',
    });
    expect(code).toBe(2);
    expect(output).toContain('HTTP_TRUST_PROXY');
  });
});
