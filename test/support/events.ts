import { randomUUID } from 'node:crypto';

export interface ProductEventInput {
  productId: string | number;
  categoryIds?: (string | number)[];
  eventId?: string;
  action?: 'created' | 'updated' | 'deleted';
}

export function productUpdated(input: ProductEventInput) {
  return {
    eventId: input.eventId ?? randomUUID(),
    type: 'ProductUpdated' as const,
    action: input.action ?? 'updated',
    productId: input.productId,
    categoryIds: input.categoryIds ?? [],
    occurredAt: new Date().toISOString(),
  };
}

export function categoryUpdated(categoryId: string | number, eventId: string = randomUUID()) {
  return {
    eventId,
    type: 'CategoryUpdated' as const,
    action: 'updated' as const,
    categoryId,
    occurredAt: new Date().toISOString(),
  };
}

export type TestEvent = ReturnType<typeof productUpdated> | ReturnType<typeof categoryUpdated>;

export const entityKey = (event: TestEvent) =>
  String(event.type === 'ProductUpdated' ? event.productId : event.categoryId);
