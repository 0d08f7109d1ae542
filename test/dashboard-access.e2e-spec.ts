import { WebSocket } from 'ws';
import { ServiceProcess } from './support/service-process';
import { World } from './support/world';

const TOKEN = 'dashboard-access-token-0123456789';
const PROTOCOL = 'invalidator.dashboard.v1';
const tokenProtocol = (token: string) => `token.${Buffer.from(token).toString('base64url')}`;

interface Opened {
  socket: WebSocket;
  protocol: string;
  messages: { at: number; type: string }[];
  closed: Promise<{ code: number; reason: string }>;
  firstMessage: Promise<{ type: string }>;
}

/** Opens a socket to the dashboard feed; resolves once its fate (first message or close) is known. */
function open(service: ServiceProcess, protocols: string[]): Opened {
  const socket = new WebSocket(`ws://127.0.0.1:${service.port}/dashboard/socket`, protocols);
  const messages: Opened['messages'] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const firstMessage = new Promise<{ type: string }>((resolve, reject) => {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string };
      messages.push({ at: Date.now(), type: message.type });
      resolve(message);
    });
    void closed.then(({ code, reason }) => reject(new Error(`closed ${code} ${reason}`)));
  });
  firstMessage.catch(() => undefined);
  return {
    socket,
    get protocol() {
      return socket.protocol;
    },
    messages,
    closed,
    firstMessage,
  };
}

describe('dashboard access: token, client cap, switch', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('dashaccess');
    service = await ServiceProcess.start(world.env, {
      ADMIN_TOKEN: TOKEN,
      DASHBOARD_MAX_CLIENTS: '2',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('the socket refuses no token and a wrong token (4401) and accepts the right one as a subprotocol', async () => {
    const none = open(service, [PROTOCOL]);
    expect(await none.closed).toEqual({
      code: 4401,
      reason: 'unauthorized: a valid dashboard token is required',
    });
    expect(none.messages).toEqual([]);

    const wrong = open(service, [PROTOCOL, tokenProtocol('not-the-token-at-all')]);
    expect((await wrong.closed).code).toBe(4401);
    expect(wrong.messages).toEqual([]);

    const right = open(service, [PROTOCOL, tokenProtocol(TOKEN)]);
    expect(await right.firstMessage).toMatchObject({ type: 'snapshot' });
    expect(right.protocol).toBe(PROTOCOL);
    right.socket.close();
    await right.closed;

    expect(
      await service.metric('invalidator_admin_access_total', {
        route: 'dashboard',
        outcome: 'refused',
        reason: 'missing_token',
      }),
    ).toBe(1);
    expect(
      await service.metric('invalidator_admin_access_total', {
        route: 'dashboard',
        reason: 'wrong_token',
      }),
    ).toBe(1);
    expect(
      await service.metric('invalidator_admin_access_total', {
        route: 'dashboard',
        outcome: 'accepted',
      }),
    ).toBe(1);
  });

  it('the page is public and secret-free; its data over HTTP needs the bearer token; the bump route is counted', async () => {
    const page = await fetch(`${service.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await page.text();
    expect(html).not.toContain(TOKEN);
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script
    expect((await fetch(`${service.url}/dashboard/assets/dashboard.js`)).status).toBe(200);
    expect((await fetch(`${service.url}/dashboard/assets/..%2Fdashboard.js`)).status).toBe(404);

    expect((await fetch(`${service.url}/dashboard/snapshot`)).status).toBe(401);
    const snapshot = await fetch(`${service.url}/dashboard/snapshot`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(snapshot.status).toBe(200);
    const body = (await snapshot.json()) as { type: string; shared: { versions: unknown[] } };
    expect(body.type).toBe('snapshot');
    expect(body.shared.versions.length).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toContain(TOKEN);

    const bump = (authorization?: string, body: unknown = { types: ['products'] }) =>
      fetch(`${service.url}/admin/versions/bump`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify(body),
      });
    expect((await bump()).status).toBe(401);
    expect((await bump('Bearer wrong-token-wrong-token')).status).toBe(401);
    expect((await bump(`Bearer ${TOKEN}`, { types: 'nope' })).status).toBe(400);
    expect((await bump(`Bearer ${TOKEN}`)).status).toBe(200);
    for (const [outcome, reason] of [
      ['refused', 'missing_token'],
      ['refused', 'wrong_token'],
      ['refused', 'bad_request'],
      ['accepted', 'ok'],
    ]) {
      expect(
        await service.metric('invalidator_admin_access_total', { route: 'bump', outcome, reason }),
      ).toBe(1);
    }
  });

  it('at most DASHBOARD_MAX_CLIENTS clients: the next is closed with 4429; updates come at most once a second', async () => {
    const protocols = [PROTOCOL, tokenProtocol(TOKEN)];
    const first = open(service, protocols);
    const second = open(service, protocols);
    await first.firstMessage;
    await second.firstMessage;
    const third = open(service, protocols);
    expect(await third.closed).toEqual({
      code: 4429,
      reason: 'too many dashboard clients (at most 2)',
    });

    await new Promise((resolve) => setTimeout(resolve, 4500));
    const gaps = first.messages.slice(1).map((m, i) => m.at - first.messages[i].at);
    expect(first.messages[0].type).toBe('snapshot');
    expect(first.messages.length).toBeGreaterThanOrEqual(4);
    expect(first.messages.slice(1).every((m) => m.type === 'update')).toBe(true);
    // Sent at least 1000 ms apart; a few ms of delivery jitter allowed on receipt.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(980);

    second.socket.close();
    await second.closed;
    const fourth = open(service, protocols);
    expect(await fourth.firstMessage).toMatchObject({ type: 'snapshot' });

    // Shutdown closes every client cleanly, with 1001.
    const closing = [first.closed, fourth.closed];
    await service.stop();
    for (const result of await Promise.all(closing)) {
      expect(result).toEqual({ code: 1001, reason: 'server shutting down' });
    }
  });

  it('DASHBOARD_ENABLED=false: the page, its assets and its data are 404 and the socket does not open', async () => {
    service = await ServiceProcess.start(world.env, {
      ADMIN_TOKEN: TOKEN,
      DASHBOARD_ENABLED: 'false',
    });
    for (const path of ['/dashboard', '/dashboard/assets/dashboard.js', '/dashboard/snapshot']) {
      expect((await fetch(`${service.url}${path}`)).status).toBe(404);
    }
    const refused = open(service, [PROTOCOL, tokenProtocol(TOKEN)]);
    refused.socket.on('error', () => undefined);
    await expect(refused.firstMessage).rejects.toThrow(/closed/);
    expect(refused.messages).toEqual([]);
  });
});
