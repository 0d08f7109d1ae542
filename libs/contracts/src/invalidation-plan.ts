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
