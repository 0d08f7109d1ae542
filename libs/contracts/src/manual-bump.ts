import { createHash } from 'node:crypto';
import { z } from 'zod';

/** A data type an operator may bump by hand: lower-case, at most 64 characters. */
export const dataTypeName = z
  .string()
  .regex(/^[a-z0-9_.:-]{1,64}$/, 'a data type is 1-64 characters of [a-z0-9_.:-]');

/** Body of POST /admin/versions/bump. */
export const manualBumpRequest = z.strictObject({
  types: z.array(dataTypeName).min(1).max(20),
});

export type ManualBumpRequest = z.output<typeof manualBumpRequest>;

/**
 * The `Idempotency-Key` of a manual bump: 1-128 printable ASCII characters, no spaces (a UUID
 * fits). The same key is applied once: a retry returns the earlier outcome and bumps nothing.
 */
export const idempotencyKey = z
  .string()
  .regex(
    /^[\x21-\x7e]{1,128}$/,
    'an idempotency key is 1-128 printable ASCII characters, no spaces',
  );

/**
 * The stored id (processed_events.event_id, 36 characters) of a manual bump's key: a UUID
 * (version 8, RFC 9562) from a SHA-256 of the key, so any key fits and none collides with an
 * event's own UUID by accident.
 */
export function manualBumpEventId(key: string): string {
  const hex = createHash('sha256').update(`manual-bump:${key}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
