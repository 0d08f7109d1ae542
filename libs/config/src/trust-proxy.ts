import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Express's `trust proxy` value: `false` (no proxy: the socket's peer is the client), `true`
 * (every hop is trusted: the leftmost X-Forwarded-For entry is the client), a hop count, or the
 * addresses and subnets of the trusted proxies.
 */
export type TrustProxy = boolean | number | string[];

/** The names Express (proxy-addr) gives to address ranges. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustEntry(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** HTTP_TRUST_PROXY, checked at start-up so that Express never meets a value it would reject. */
export const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  const trimmed = value.trim();
  if (trimmed === 'false') return false;
  if (trimmed === 'true') return true;
  if (/^\d+$/.test(trimmed) && Number(trimmed) <= 100) return Number(trimmed) || false;
  const entries = trimmed.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isTrustEntry(entry));
  if (bad.length === 0) return entries;
  ctx.addIssue({
    code: 'custom',
    message:
      'must be false, true, a hop count (0-100), or a comma-separated list of proxy addresses, ' +
      `subnets (10.0.0.0/8) and loopback, linklocal, uniquelocal; not ${bad.map((b) => `"${b}"`).join(', ')}`,
  });
  return z.NEVER;
});
