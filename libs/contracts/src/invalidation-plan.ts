import { ShopEvent } from './events';

/** What one event asks for: the versions to bump and the tags to purge (DESIGN.md's table). */
export interface InvalidationPlan {
  dataTypes: string[];
  tags: string[];
}

export function planFor(event: ShopEvent): InvalidationPlan {
  switch (event.type) {
    case 'ProductUpdated':
      return {
        dataTypes: ['products', 'global'],
        tags: [
          'products',
          `product:${event.productId}`,
          ...event.categoryIds.map((c) => `category:${c}`),
        ],
      };
    case 'CategoryUpdated':
      return {
        dataTypes: ['categories', 'products', 'global'],
        tags: ['categories', 'products', `category:${event.categoryId}`],
      };
  }
}
