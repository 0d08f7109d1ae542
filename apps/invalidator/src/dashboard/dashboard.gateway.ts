import { Inject, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { WebSocket } from 'ws';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { AdminTokenGuard } from '../http/admin-guard';
import { DashboardService } from './dashboard.service';
import { HistoryPoint, MetricsHistory } from './metrics-history';

export const DASHBOARD_SOCKET_PATH = '/dashboard/socket';
/** The subprotocol the page speaks; the server answers with it. */
export const DASHBOARD_PROTOCOL = 'invalidator.dashboard.v1';
/** The token rides as a second subprotocol, `token.<base64url of ADMIN_TOKEN>`: never in a URL. */
export const TOKEN_PROTOCOL_PREFIX = 'token.';

export const CLOSE = {
  unauthorized: { code: 4401, reason: 'unauthorized: a valid dashboard token is required' },
  lockedOut: { code: 4423, reason: 'locked out: too many bad tokens; retry in' },
  tooManyClients: { code: 4429, reason: 'too many dashboard clients' },
  shutdown: { code: 1001, reason: 'server shutting down' },
} as const;

const MIN_INTERVAL_MS = 1000;
/** Points an update carries: a client whose update was late still gets every second. */
const POINTS_PER_UPDATE = 5;
/** Clients due within this of each other share one built update. */
const SHARED_BUILD_MS = 250;
const MAX_BUFFERED_BYTES = 1024 * 1024;
const CLOSE_WAIT_MS = 1000;

interface Client {
  /** False until its snapshot is built: updates never overtake the snapshot. */
  ready: boolean;
  lastSent: number;
  timer?: NodeJS.Timeout;
}

function presentedToken(request: IncomingMessage): string | undefined {
  const offered = String(request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const encoded = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (encoded === undefined) return undefined;
  return Buffer.from(encoded.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
}

/**
 * A browser always sends the page's Origin with a WebSocket upgrade: one naming another host
 * than the request's (a page elsewhere reaching the dashboard through a visitor's browser) is
 * refused with 403 before any socket opens. X-Forwarded-Host counts too, whoever sent it: a
 * browser cannot set it. Clients that are not browsers send no Origin; the token decides.
 */
export function sameOrigin({ origin, req }: { origin?: string; req: IncomingMessage }): boolean {
  if (!origin) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const forwardedHost = String(req.headers['x-forwarded-host'] ?? '')
    .split(',')[0]
    .trim();
  return host === req.headers.host || (forwardedHost !== '' && host === forwardedHost);
}

/**
 * The dashboard's live feed: a snapshot on connect, then at most one update a second per
 * client (built when due), up to DASHBOARD_MAX_CLIENTS clients; with ADMIN_TOKEN set,
 * a client must present it as a subprotocol (judged by AdminTokenGuard, lockout included).
 * Closed cleanly (1001) on shutdown.
 */
@WebSocketGateway({
  path: DASHBOARD_SOCKET_PATH,
  maxPayload: 4096,
  handleProtocols: (protocols: Set<string>) =>
    protocols.has(DASHBOARD_PROTOCOL) ? DASHBOARD_PROTOCOL : false,
  verifyClient: (
    info: { origin?: string; req: IncomingMessage },
    done: (ok: boolean, code?: number) => void,
  ) => done(sameOrigin(info), 403),
})
export class DashboardGateway
  implements
    OnGatewayConnection<WebSocket>,
    OnGatewayDisconnect<WebSocket>,
    OnModuleInit,
    OnModuleDestroy
{
  private readonly clients = new Map<WebSocket, Client>();
  private unsubscribe?: () => void;
  private built?: { at: number; message: Promise<string> };

  constructor(
    private readonly guard: AdminTokenGuard,
    private readonly dashboard: DashboardService,
    private readonly history: MetricsHistory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectPinoLogger('DashboardGateway') private readonly logger: PinoLogger,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.history.onPoint(() => this.tick());
  }

  async handleConnection(socket: WebSocket, request: IncomingMessage): Promise<void> {
    const verdict = await this.guard.judge('dashboard', request, presentedToken(request));
    if (!verdict.admitted) {
      if (verdict.reason === 'locked_out') {
        const { code, reason } = CLOSE.lockedOut;
        socket.close(code, `${reason} ${verdict.retryAfterSeconds} s`);
      } else socket.close(CLOSE.unauthorized.code, CLOSE.unauthorized.reason);
      return;
    }
    // Closed while the guard asked Redis: its disconnect has already been handled.
    if (socket.readyState !== WebSocket.OPEN) return;
    const cap = this.config.DASHBOARD_MAX_CLIENTS;
    if (this.clients.size >= cap) {
      this.logger.warn({ cap }, 'dashboard client refused: too many clients');
      socket.close(CLOSE.tooManyClients.code, `${CLOSE.tooManyClients.reason} (at most ${cap})`);
      return;
    }
    const client: Client = { ready: false, lastSent: 0 };
    this.clients.set(socket, client);
    try {
      const snapshot = JSON.stringify(await this.dashboard.snapshot());
      client.ready = true;
      this.send(socket, client, snapshot);
    } catch (error) {
      this.logger.error({ err: error }, 'dashboard snapshot failed');
      socket.close(1011, 'snapshot failed');
    }
  }

  handleDisconnect(socket: WebSocket): void {
    const client = this.clients.get(socket);
    clearTimeout(client?.timer);
    this.clients.delete(socket);
  }

  /** Each second (a new chart point): every client gets an update as soon as it is due. */
  private tick(): void {
    for (const [socket, client] of this.clients) {
      if (client.ready && !client.timer) this.scheduleUpdate(socket, client);
    }
  }

  /**
   * The update is built when it is sent, not before: a message never waits out a client's
   * second while the figures move on under it.
   */
  private scheduleUpdate(socket: WebSocket, client: Client): void {
    const wait = Math.max(0, client.lastSent + MIN_INTERVAL_MS - Date.now());
    client.timer = setTimeout(() => {
      void this.update().then(
        (message) => {
          client.timer = undefined;
          this.send(socket, client, message);
        },
        (error: unknown) => {
          client.timer = undefined;
          this.logger.error({ err: error }, 'dashboard update failed');
        },
      );
    }, wait);
  }

  private update(): Promise<string> {
    const now = Date.now();
    if (this.built && now - this.built.at < SHARED_BUILD_MS) return this.built.message;
    const points: HistoryPoint[] = this.history.history().slice(-POINTS_PER_UPDATE);
    const message = this.dashboard.update(points).then((update) => JSON.stringify(update));
    this.built = { at: now, message };
    return message;
  }

  private send(socket: WebSocket, client: Client, message: string): void {
    if (socket.readyState !== WebSocket.OPEN || !this.clients.has(socket)) return;
    // A client that does not read keeps its place but misses updates until it catches up.
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    client.lastSent = Date.now();
    socket.send(message);
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    const closed = [...this.clients.entries()].map(([socket, client]) => {
      clearTimeout(client.timer);
      return new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close(CLOSE.shutdown.code, CLOSE.shutdown.reason);
      });
    });
    this.clients.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }
}
