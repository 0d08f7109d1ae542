import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EventType, ShopEvent, shopEventSchema } from './events';
import { EVENT_TYPES } from './invalidation-plan';
import { InvalidEventError } from './parse-event';

/** The CDC_MAPPING_FILE: Debezium topics consumed and, per `<db>.<table>`, the event it becomes. */
export const cdcMappingSchema = z.strictObject({
  topics: z.array(z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'not a Kafka topic name')).min(1),
  tables: z.record(
    z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'a table is keyed `<db>.<table>`'),
    z
      .strictObject({
        event: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
        id: z.string().min(1),
        categories: z.array(z.string().min(1)).optional(),
      })
      .refine((t) => t.categories === undefined || t.event === 'ProductUpdated', {
        message: 'categories is for ProductUpdated only',
        path: ['categories'],
      }),
  ),
});

export type CdcMapping = z.output<typeof cdcMappingSchema>;
export type SnapshotEvents = 'skip' | 'apply';

/** Validates a parsed mapping file; the error names the entry, e.g. `tables["x.y"].event`. */
export function parseCdcMapping(json: unknown): CdcMapping {
  const result = cdcMappingSchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const path = issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `["${String(p)}"]`))
      .join('');
    return `${path.replace(/^tables\["([^"]*)"\]\["([^"]*)"\]/, 'tables["$1"].$2') || '(root)'}: ${issue.message}`;
  });
  throw new Error(`invalid CDC mapping: ${issues.join('; ')}`);
}

/** One change event's outcome: a contract event (with its commit time), or skipped. */
export type ChangeOutcome =
  { event: ShopEvent; committedAtMs: number } | { skipped: 'tombstone' | 'snapshot' };

const ACTION = { c: 'created', u: 'updated', d: 'deleted', r: 'updated' } as const;
type Row = Record<string, unknown>;

const envelopeSchema = z.object({
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  op: z.enum(['c', 'u', 'd', 'r']),
  source: z.object({
    name: z.string(),
    db: z.string(),
    table: z.string(),
    file: z.string().optional(),
    pos: z.number().optional(),
    row: z.number().optional(),
    ts_ms: z.number(),
  }),
});

/** The fixed namespace of the CDC event ids (RFC 4122 §4.3); never change it: ids would move. */
const CDC_NAMESPACE = '4f3c2a1e-9d7b-4c1a-8e52-6b0d3f9a2c71';

/** RFC 4122 version 5 (SHA-1) UUID of a name in CDC_NAMESPACE. */
export function uuidV5(name: string, namespace = CDC_NAMESPACE): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function idOf(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

/**
 * Converts one Debezium change event (JSON converter, schemas disabled; README "Change data
 * capture") into the contract event it stands for, or says why it is skipped; throws
 * InvalidEventError (a dead letter) for what can never be applied.
 */
export function convertChange(
  value: Buffer | null,
  mapping: CdcMapping,
  snapshots: SnapshotEvents,
): ChangeOutcome {
  if (value === null || value.length === 0) return { skipped: 'tombstone' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (e) {
    throw new InvalidEventError('not_json', `not JSON: ${(e as Error).message}`);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidEventError('not_envelope', `not a change event: ${issues.join('; ')}`);
  }
  const { before, after, op, source } = parsed.data;
  const table = `${source.db}.${source.table}`;
  const entry = mapping.tables[table];
  if (!entry) throw new InvalidEventError('unmapped_table', `unmapped table: ${table}`);
  if (op === 'r' && snapshots === 'skip') return { skipped: 'snapshot' };
  const image: Row | null = op === 'd' ? (before ?? after) : (after ?? before);
  const id = idOf(image?.[entry.id]);
  if (id === undefined)
    throw new InvalidEventError('no_id', `${table}: no value in id column ${entry.id}`);
  const categoryIds = new Set<string>();
  for (const row of [before, after])
    for (const column of entry.categories ?? []) {
      const category = idOf(row?.[column]);
      if (category !== undefined) categoryIds.add(category);
    }
  const eventId = uuidV5(
    `${source.name}:${source.file}:${source.pos}:${source.row}:${table}:${id}`,
  );
  const common = { eventId, action: ACTION[op], occurredAt: new Date(source.ts_ms).toISOString() };
  const candidate =
    entry.event === 'ProductUpdated'
      ? { ...common, type: entry.event, productId: id, categoryIds: [...categoryIds] }
      : { ...common, type: entry.event, categoryId: id };
  const result = shopEventSchema.safeParse(candidate);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new InvalidEventError('schema', `${table}: schema violation: ${issues.join('; ')}`);
  }
  return { event: result.data, committedAtMs: source.ts_ms };
}
