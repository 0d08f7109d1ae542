import { MAX_EVENT_BYTES, ShopEvent, shopEventSchema } from './events';

/** A message that can never be applied: it goes to the dead-letter topic, never retried. */
export type InvalidEventKind = 'empty' | 'oversized' | 'not_json' | 'unknown_type' | 'schema';

const KNOWN_TYPES: readonly unknown[] = ['ProductUpdated', 'CategoryUpdated'];

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
  const result = shopEventSchema.safeParse(json);
  // The id is the idempotency key: the same UUID in another case must be the same event.
  if (result.success) return { ...result.data, eventId: result.data.eventId.toLowerCase() };
  const issues = result.error.issues
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new InvalidEventError('schema', `schema violation: ${issues}`);
}
