export {
  MAX_EVENT_BYTES,
  categoryUpdatedSchema,
  entityId,
  productUpdatedSchema,
  shopEventSchema,
} from './events';
export type { CategoryUpdated, EventType, ProductUpdated, ShopEvent } from './events';
export { dispositionOf, isStoreFailure } from './disposition';
export type { Disposition } from './disposition';
export { InvalidEventError, parseEvent } from './parse-event';
export type { InvalidEventKind } from './parse-event';
export { EVENT_TYPES, MergedPlan, PLAN_TABLE, planFor } from './invalidation-plan';
export type { InvalidationPlan } from './invalidation-plan';
export { jsonSchemas } from './json-schema';
export { dataTypeName, idempotencyKey, manualBumpEventId, manualBumpRequest } from './manual-bump';
export type { ManualBumpRequest } from './manual-bump';
export { convertChange, cdcMappingSchema, parseCdcMapping, uuidV5 } from './change-event';
export type { CdcMapping, ChangeOutcome, SnapshotEvents } from './change-event';
