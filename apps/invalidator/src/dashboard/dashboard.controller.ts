import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { join } from 'node:path';
import { AdminOnly } from '../http/admin-guard';
import { DashboardService, DashboardSnapshot } from './dashboard.service';

const PUBLIC_DIR = join(__dirname, 'public');

/** The only files the page loads, all from this service: nothing from the internet. */
const ASSETS: Record<string, { path: string; type: string }> = {
  'dashboard.js': { path: join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript' },
  'dashboard.css': { path: join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css' },
  'uplot.js': { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript' },
  'uplot.css': { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
};

/** No inline script or style, nothing from elsewhere; the socket is same-origin. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

/**
 * GET /dashboard: the page and its assets (public: they hold no figures), and the snapshot
 * the socket also sends (with ADMIN_TOKEN set, a bearer token is required).
 */
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get()
  page(@Res() res: Response): void {
    secureHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').sendFile(join(PUBLIC_DIR, 'index.html'));
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw new NotFoundException();
    secureHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.type(asset.type).sendFile(asset.path);
  }

  @Get('snapshot')
  @AdminOnly('dashboard')
  snapshot(@Res({ passthrough: true }) res: Response): Promise<DashboardSnapshot> {
    res.setHeader('Cache-Control', 'no-store');
    return this.dashboard.snapshot();
  }
}
