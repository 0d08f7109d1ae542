import { z } from 'zod';
import { categoryUpdatedSchema, productUpdatedSchema } from './events';

/** JSON Schema documents for publishers in other languages, generated from the zod schemas. */
export function jsonSchemas(): Record<string, unknown> {
  return {
    'product-updated.schema.json': z.toJSONSchema(productUpdatedSchema, { io: 'input' }),
    'category-updated.schema.json': z.toJSONSchema(categoryUpdatedSchema, { io: 'input' }),
  };
}
