import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { InvalidatorMetrics } from '@invalidator/monitoring';
import { AdminLockout } from './admin-lockout';
import { bearerToken, judgeAdminToken } from './admin-token';

export type AdminRoute = 'bump' | 'dashboard';

export type AdminVerdict =
  | { admitted: true }
  | { admitted: false; reason: 'missing_token' | 'wrong_token' }
  | { admitted: false; reason: 'locked_out'; retryAfterSeconds: number };

/** Express's compiled `trust proxy`: whether the hop at `index` (0: the socket's peer) is trusted. */
type TrustFn = (address: string, index: number) => boolean;

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

const ROUTE = Reflector.createDecorator<AdminRoute>();

/**
 * The one door of ADMIN_TOKEN, for every route that takes it: the bump route and the
 * dashboard's snapshot (`@AdminOnly`, a bearer token) and its socket (DashboardGateway, a
 * subprotocol). Each client's refusals are counted by AdminLockout, which refuses it before
 * its token is looked at once they are used up. Without ADMIN_TOKEN the bump route is off (404)
 * and the dashboard open. Stateless: Nest builds one per module using it.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(
    private readonly lockout: AdminLockout,
    private readonly metrics: InvalidatorMetrics,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Judges a presented token; every refusal is counted (metric and lockout), and an admission
   * too, but the bump route's: it counts its own once the body is valid (admin.controller.ts).
   */
  async judge(
    route: AdminRoute,
    request: IncomingMessage,
    presented: string | undefined,
  ): Promise<AdminVerdict> {
    const token = this.config.ADMIN_TOKEN;
    if (token === undefined) return { admitted: true };
    const { left, giveBack } = await this.lockout.take(clientAddress(request, this.trust()));
    if (left > 0) {
      this.metrics.countAdminAccess(route, 'locked_out');
      return { admitted: false, reason: 'locked_out', retryAfterSeconds: Math.ceil(left / 1000) };
    }
    const judged = judgeAdminToken(token, presented);
    if (judged !== 'ok' || route !== 'bump') this.metrics.countAdminAccess(route, judged);
    if (judged !== 'ok') return { admitted: false, reason: judged };
    await giveBack();
    return { admitted: true };
  }

  /** An HTTP route's door: its bearer token, else 401, or 429 with Retry-After. */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const route = this.reflector.get(ROUTE, context.getHandler());
    if (route === 'bump' && this.config.ADMIN_TOKEN === undefined) throw new NotFoundException();
    const verdict = await this.judge(route, req, bearerToken(req.headers.authorization));
    if (verdict.admitted) return true;
    if (verdict.reason === 'locked_out') {
      const res = context.switchToHttp().getResponse<Response>();
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
}

/** Puts a handler behind AdminTokenGuard, counted under `route` (its module imports AdminGuardModule). */
export const AdminOnly = (route: AdminRoute) =>
  applyDecorators(ROUTE(route), UseGuards(AdminTokenGuard));
