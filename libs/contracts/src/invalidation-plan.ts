import { EventType, ShopEvent } from './events';

/** What one event asks for: the versions to bump and the tags to purge (the table below). */
export interface InvalidationPlan {
  dataTypes: readonly string[];
  tags: string[];
}

type IdKind = 'product' | 'category';
/** The fields of an event holding an id or a list of ids. */
type IdField<E> = { [K in keyof E]: E[K] extends string | string[] ? K : never }[keyof E];

interface PlanRow<E> {
  /** The versions bumped; shared by every plan of the type (a saga plans thousands): read-only. */
  dataTypes: readonly string[];
  /** The tags purged whatever the event names. */
  tags: readonly string[];
  /** And `{kind}:{id}` for each id of the field. */
  ids: Partial<Record<IdKind, IdField<E>>>;
}

/**
 * The plan table, the one place it is written: planFor, MergedPlan and the event types
 * (EVENT_TYPES) follow from it; invalidation-plan.spec.ts checks README.md's table against it.
 */
export const PLAN_TABLE: { readonly [T in EventType]: PlanRow<Extract<ShopEvent, { type: T }>> } = {
  ProductUpdated: {
    dataTypes: Object.freeze(['products', 'global']),
    tags: ['products'],
    ids: { product: 'productId', category: 'categoryIds' },
  },
  CategoryUpdated: {
    dataTypes: Object.freeze(['categories', 'products', 'global']),
    tags: ['categories', 'products'],
    ids: { category: 'categoryId' },
  },
};

export const EVENT_TYPES = Object.keys(PLAN_TABLE) as EventType[];

/** The ids an event names, by kind, in the table's order. */
/** Each type's id fields as [kind, field] pairs, once: the hot path reads no table per event. */
const ID_FIELDS = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, Object.entries(PLAN_TABLE[type].ids) as [IdKind, string][]]),
) as Record<EventType, [IdKind, string][]>;

/** Calls `use` with each id the event names, by kind (no array or tuple per event). */
function eachId(event: ShopEvent, use: (kind: IdKind, id: string) => void): void {
  for (const [kind, field] of ID_FIELDS[event.type]) {
    const ids = (event as unknown as Record<string, string | string[]>)[field];
    if (typeof ids === 'string') use(kind, ids);
    else for (let i = 0; i < ids.length; i++) use(kind, ids[i]);
  }
}

function idsOf(event: ShopEvent): [IdKind, string][] {
  const ids: [IdKind, string][] = [];
  eachId(event, (kind, id) => ids.push([kind, id]));
  return ids;
}

export function planFor(event: ShopEvent): InvalidationPlan {
  const { dataTypes, tags } = PLAN_TABLE[event.type];
  return { dataTypes, tags: [...tags, ...idsOf(event).map(([kind, id]) => `${kind}:${id}`)] };
}

/**
 * The plans of many events merged (what one saga needs), without a plan object or a tag
 * string per event: the table above, applied to a batch. Equal to the union of planFor's.
 */
export class MergedPlan {
  private readonly types = new Set<EventType>();
  private readonly ids: Record<IdKind, Set<string>> = { product: new Set(), category: new Set() };
  private readonly addId = (kind: IdKind, id: string) => void this.ids[kind].add(id);

  /** Adds the event's plan; returns the data types it bumps (shared, read-only). */
  add(event: ShopEvent): readonly string[] {
    this.types.add(event.type);
    eachId(event, this.addId);
    return PLAN_TABLE[event.type].dataTypes;
  }

  /** The data types bumped, sorted (the one lock order). */
  dataTypes(): string[] {
    return [...new Set(this.rows().flatMap((row) => row.dataTypes))].sort();
  }

  tags(): string[] {
    const tags = new Set(this.rows().flatMap((row) => row.tags));
    for (const [kind, ids] of Object.entries(this.ids))
      for (const id of ids) tags.add(`${kind}:${id}`);
    return [...tags];
  }

  private rows() {
    return EVENT_TYPES.filter((type) => this.types.has(type)).map((type) => PLAN_TABLE[type]);
  }
}
