import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { AppConfig } from '@invalidator/config';

/** For any HTML this service might serve (the dashboard sets its own, as strict). */
const STRICT_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

/**
 * Security headers on every response (helmet), small request bodies (413 beyond
 * HTTP_BODY_LIMIT_BYTES), and errors of the body parser answered as short JSON, never with a
 * stack trace.
 */
export function hardenHttp(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  // Read by the AdminGuard (the client a lockout counts), for HTTP and WebSocket alike.
  app.set('trust proxy', config.HTTP_TRUST_PROXY);
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: STRICT_CSP },
      // The service speaks plain HTTP behind the cluster's ingress; HSTS is the ingress's.
      strictTransportSecurity: false,
      frameguard: { action: 'deny' },
    }),
  );
  app.useBodyParser('json', { limit: config.HTTP_BODY_LIMIT_BYTES });
  app.useBodyParser('urlencoded', { limit: config.HTTP_BODY_LIMIT_BYTES, extended: false });
  app.use(bodyParserErrors);
}

function bodyParserErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  const status = (error as { status?: unknown }).status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return next(error);
  const message = status === 413 ? 'request body too large' : 'malformed request body';
  res.status(status).json({ statusCode: status, message });
}
