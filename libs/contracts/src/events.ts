import { z } from 'zod';

export const MAX_EVENT_BYTES = 64 * 1024;

/** Non-empty string of at most 64 safe characters, or a positive integer normalized to a string. */
export const entityId = z.union([
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'must match [A-Za-z0-9_.:-]'),
  z
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .transform((n) => String(n)),
]);

const action = z.enum(['created', 'updated', 'deleted']);
const occurredAt = z.iso.datetime({ offset: true });

export const productUpdatedSchema = z.object({
  eventId: z.uuid(),
  type: z.literal('ProductUpdated'),
  action,
  productId: entityId,
  categoryIds: z.array(entityId).max(1000).default([]),
  occurredAt,
});

export const categoryUpdatedSchema = z.object({
  eventId: z.uuid(),
  type: z.literal('CategoryUpdated'),
  action,
  categoryId: entityId,
  occurredAt,
});

export const shopEventSchema = z.discriminatedUnion('type', [
  productUpdatedSchema,
  categoryUpdatedSchema,
]);

export type ProductUpdated = z.output<typeof productUpdatedSchema>;
export type CategoryUpdated = z.output<typeof categoryUpdatedSchema>;
export type ShopEvent = z.output<typeof shopEventSchema>;
export type EventType = ShopEvent['type'];
