import { MAX_EVENT_BYTES, ShopEvent, productUpdatedSchema, shopEventSchema } from './events';
import { EVENT_TYPES } from './invalidation-plan';

/** A message that can never be applied: it goes to the dead-letter topic, never retried. */
export type InvalidEventKind =
  | 'empty'
  | 'oversized'
  | 'not_json'
  | 'unknown_type'
  | 'schema'
  | 'not_envelope'
  | 'unmapped_table'
  | 'no_id';

const KNOWN_TYPES: readonly unknown[] = EVENT_TYPES;

export class InvalidEventError extends Error {
  readonly disposition = 'dead-letter' as const;
  constructor(
    readonly kind: InvalidEventKind,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'InvalidEventError';
  }
}

/** Decodes one Kafka message value into a typed event, or throws InvalidEventError saying why. */
export function parseEvent(value: Buffer | null): ShopEvent {
  if (value === null || value.length === 0)
    throw new InvalidEventError('empty', 'empty message value');
  if (value.length > MAX_EVENT_BYTES) {
    throw new InvalidEventError(
      'oversized',
      `message is ${value.length} bytes, over the ${MAX_EVENT_BYTES} byte limit`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (e) {
    throw new InvalidEventError('not_json', `not JSON: ${(e as Error).message}`);
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof json === 'object' && json !== null && !KNOWN_TYPES.includes(type)) {
    throw new InvalidEventError(
      'unknown_type',
      `unknown type: ${JSON.stringify(type) ?? 'missing'}`,
    );
  }
  const fast = fastPath(json);
  if (fast) return fast;
  const result = shopEventSchema.safeParse(json);
  // The id is the idempotency key: the same UUID in another case must be the same event.
  if (result.success) return { ...result.data, eventId: result.data.eventId.toLowerCase() };
  const issues = result.error.issues
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new InvalidEventError('schema', `schema violation: ${issues}`);
}

/** The schema's own pattern of a string format (uuid, iso datetime), so both paths agree. */
function patternOf(schema: { _zod: { pattern?: RegExp } }, name: string): RegExp {
  const pattern = schema._zod.pattern;
  if (!pattern) throw new Error(`the event schema's ${name} has no pattern`);
  return pattern;
}

const UUID = patternOf(productUpdatedSchema.shape.eventId, 'eventId');
const DATETIME = patternOf(productUpdatedSchema.shape.occurredAt, 'occurredAt');
const ENTITY_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const ACTIONS: readonly unknown[] = productUpdatedSchema.shape.action.options;
const MAX_CATEGORY_IDS = 1000;

function entityIdOf(value: unknown): string | undefined {
  if (typeof value === 'string') return ENTITY_ID.test(value) ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  return undefined;
}

/**
 * The hot path: a well-formed event checked field by field with the schema's own patterns, in
 * a fraction of zod's time. Anything it does not accept outright (including every invalid
 * event) goes to zod, which decides and words the error; a unit test checks both agree.
 */
function fastPath(json: unknown): ShopEvent | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const e = json as Record<string, unknown>;
  const { eventId, action, occurredAt } = e;
  if (typeof eventId !== 'string' || !UUID.test(eventId)) return undefined;
  if (!ACTIONS.includes(action) || typeof occurredAt !== 'string' || !DATETIME.test(occurredAt))
    return undefined;
  // Object literals, not spreads: a spread costs more than the whole check.
  const id = eventId.toLowerCase();
  const act = action as ShopEvent['action'];
  if (e.type === 'ProductUpdated') {
    const productId = entityIdOf(e.productId);
    if (productId === undefined) return undefined;
    let categoryIds: string[] = [];
    if (e.categoryIds !== undefined) {
      if (!Array.isArray(e.categoryIds) || e.categoryIds.length > MAX_CATEGORY_IDS)
        return undefined;
      // The parsed array itself when its ids are strings already (the usual case): no copy.
      const raw = e.categoryIds as unknown[];
      categoryIds = raw as string[];
      for (let i = 0; i < raw.length; i++) {
        const cid = entityIdOf(raw[i]);
        if (cid === undefined) return undefined;
        if (cid !== raw[i]) {
          if (categoryIds === raw) categoryIds = raw.map(String);
          categoryIds[i] = cid;
        }
      }
    }
    return { eventId: id, type: 'ProductUpdated', action: act, productId, categoryIds, occurredAt };
  }
  if (e.type === 'CategoryUpdated') {
    const categoryId = entityIdOf(e.categoryId);
    if (categoryId === undefined) return undefined;
    return { eventId: id, type: 'CategoryUpdated', action: act, categoryId, occurredAt };
  }
  return undefined;
}

/** For the agreement test: the fast path alone. */
export const fastPathForTest = fastPath;
