import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { LockoutCounter } from '@invalidator/locking';
import { InvalidatorMetrics } from '@invalidator/monitoring';
import { LocalLockout } from './admin-lockout';
import { bearerToken, judgeAdminToken } from './admin-token';

export type AdminRoute = 'bump' | 'dashboard';

export type AdminVerdict =
  | { admitted: true }
  | { admitted: false; reason: 'missing_token' | 'wrong_token' }
  | { admitted: false; reason: 'locked_out'; retryAfterSeconds: number };

/** Express's compiled `trust proxy`: whether the hop at `index` (0: the socket's peer) is trusted. */
type TrustFn = (address: string, index: number) => boolean;

export const LOCKOUT_LOG = {
  local: 'admin lockout: Redis unavailable; counting per instance',
  shared: 'admin lockout counted in Redis again',
} as const;

/** Longer "addresses" (a trusted proxy relaying garbage) are cut: bounded Redis keys. */
const MAX_ADDRESS_LENGTH = 64;

/**
 * The client's address as Express's `req.ip` reads it under `trust proxy` (HTTP_TRUST_PROXY):
 * the socket's peer, or, through trusted hops, the nearest X-Forwarded-For entry they do not
 * vouch for. Takes a bare IncomingMessage, so a WebSocket upgrade is read the same way.
 */
function clientAddress(request: IncomingMessage, trust: TrustFn): string {
  const forwarded = String(request.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean)
    .reverse();
  const hops = [request.socket.remoteAddress ?? 'unknown', ...forwarded];
  let hop = 0;
  while (hop < hops.length - 1 && trust(hops[hop], hop)) hop += 1;
  return hops[hop].slice(0, MAX_ADDRESS_LENGTH);
}

/**
 * The one door of ADMIN_TOKEN, for every route that takes it (the bump route, the dashboard's
 * snapshot and socket). A client (by address) gets ADMIN_LOCKOUT_ATTEMPTS refusals per
 * ADMIN_LOCKOUT_WINDOW_MS, counted in Redis for all instances together; after that it is
 * refused before its token is looked at, until its window ends. While Redis cannot count,
 * this instance counts alone: the dashboard stays usable in a Redis outage.
 */
@Injectable()
export class AdminGuard {
  private readonly local: LocalLockout;
  private sharedDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly counter: LockoutCounter,
    private readonly metrics: InvalidatorMetrics,
    private readonly adapterHost: HttpAdapterHost,
    @InjectPinoLogger('AdminGuard') private readonly logger: PinoLogger,
  ) {
    this.local = new LocalLockout(config.ADMIN_LOCKOUT_ATTEMPTS, config.ADMIN_LOCKOUT_WINDOW_MS);
  }

  /** False when ADMIN_TOKEN is unset: each route then decides (the bump route is off). */
  get enabled(): boolean {
    return this.config.ADMIN_TOKEN !== undefined;
  }

  /** Judges a presented token; every refusal is counted (metric and lockout). */
  async judge(
    route: AdminRoute,
    request: IncomingMessage,
    presented: string | undefined,
  ): Promise<AdminVerdict> {
    const token = this.config.ADMIN_TOKEN;
    if (token === undefined) return { admitted: true };
    const client = clientAddress(request, this.trust());
    const { left, giveBack } = await this.take(client);
    if (left > 0) {
      this.metrics.countAdminAccess(route, 'locked_out');
      return { admitted: false, reason: 'locked_out', retryAfterSeconds: Math.ceil(left / 1000) };
    }
    const judged = judgeAdminToken(token, presented);
    if (judged === 'ok') {
      await giveBack();
      return { admitted: true };
    }
    this.metrics.countAdminAccess(route, judged);
    return { admitted: false, reason: judged };
  }

  /** An HTTP route's door: its bearer token, else 401, or 429 with Retry-After. */
  async admitHttp(route: AdminRoute, req: Request, res: Response): Promise<void> {
    const verdict = await this.judge(route, req, bearerToken(req.headers.authorization));
    if (verdict.admitted) return;
    if (verdict.reason === 'locked_out') {
      res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
      throw new HttpException('too many bad tokens; retry later', HttpStatus.TOO_MANY_REQUESTS);
    }
    throw new UnauthorizedException('a valid bearer token is required');
  }

  private trust(): TrustFn {
    return this.adapterHost.httpAdapter
      .getInstance<{ get(name: string): TrustFn }>()
      .get('trust proxy fn');
  }

  private async take(client: string): Promise<{ left: number; giveBack: () => Promise<void> }> {
    const { ADMIN_LOCKOUT_ATTEMPTS: attempts, ADMIN_LOCKOUT_WINDOW_MS: windowMs } = this.config;
    try {
      const left = await this.counter.take(client, attempts, windowMs);
      if (this.sharedDown) this.logger.info(LOCKOUT_LOG.shared);
      this.sharedDown = false;
      return { left, giveBack: () => this.counter.giveBack(client).catch(() => undefined) };
    } catch (error) {
      if (!this.sharedDown) this.logger.warn({ err: error }, LOCKOUT_LOG.local);
      this.sharedDown = true;
      return {
        left: this.local.take(client),
        giveBack: () => Promise.resolve(this.local.giveBack(client)),
      };
    }
  }
}
