import { ShopEvent } from './events';

/** What one event asks for: the versions to bump and the tags to purge (DESIGN.md's table). */
export interface InvalidationPlan {
  dataTypes: readonly string[];
  tags: string[];
}

// Shared by every plan of the type (a saga plans thousands): read-only.
const PRODUCT_TYPES: readonly string[] = Object.freeze(['products', 'global']);
const CATEGORY_TYPES: readonly string[] = Object.freeze(['categories', 'products', 'global']);

export function planFor(event: ShopEvent): InvalidationPlan {
  switch (event.type) {
    case 'ProductUpdated':
      return {
        dataTypes: PRODUCT_TYPES,
        tags: [
          'products',
          `product:${event.productId}`,
          ...event.categoryIds.map((c) => `category:${c}`),
        ],
      };
    case 'CategoryUpdated':
      return {
        dataTypes: CATEGORY_TYPES,
        tags: ['categories', 'products', `category:${event.categoryId}`],
      };
  }
}

/**
 * The plans of many events merged (what one saga needs), without a plan object or a tag
 * string per event: the table above, applied to a batch. Equal to the union of planFor's.
 */
export class MergedPlan {
  private readonly productIds = new Set<string>();
  private readonly categoryIds = new Set<string>();
  private products = false;
  private categories = false;

  /** Adds the event's plan; returns the data types it bumps (shared, read-only). */
  add(event: ShopEvent): readonly string[] {
    switch (event.type) {
      case 'ProductUpdated':
        this.products = true;
        this.productIds.add(event.productId);
        for (const id of event.categoryIds) this.categoryIds.add(id);
        return PRODUCT_TYPES;
      case 'CategoryUpdated':
        this.categories = true;
        this.categoryIds.add(event.categoryId);
        return CATEGORY_TYPES;
    }
  }

  /** The data types bumped, sorted (the one lock order). */
  dataTypes(): string[] {
    const types = new Set<string>();
    if (this.products) PRODUCT_TYPES.forEach((t) => types.add(t));
    if (this.categories) CATEGORY_TYPES.forEach((t) => types.add(t));
    return [...types].sort();
  }

  tags(): string[] {
    const tags: string[] = [];
    // A CategoryUpdated purges `products` too.
    if (this.products || this.categories) tags.push('products');
    if (this.categories) tags.push('categories');
    for (const id of this.productIds) tags.push(`product:${id}`);
    for (const id of this.categoryIds) tags.push(`category:${id}`);
    return tags;
  }
}
