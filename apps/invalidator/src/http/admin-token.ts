import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminAccessReason } from '@invalidator/monitoring';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Judges a presented admin token against ADMIN_TOKEN. Both sides are hashed first:
 * timingSafeEqual throws on unequal lengths, which would leak them.
 */
export function judgeAdminToken(
  expected: string,
  presented: string | undefined,
): Extract<AdminAccessReason, 'ok' | 'missing_token' | 'wrong_token'> {
  if (presented === undefined || presented === '') return 'missing_token';
  return timingSafeEqual(digest(presented), digest(expected)) ? 'ok' : 'wrong_token';
}

/** The token of an `Authorization: Bearer …` header, if any. */
export const bearerToken = (authorization: string | undefined): string | undefined =>
  /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
