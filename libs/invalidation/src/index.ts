export { InvalidationModule } from './invalidation.module';
export { ConsumeBatch } from './consume-batch';
export { ManualBump } from './manual-bump';
export type { ManualBumpCommand, ManualBumpResult } from './manual-bump';
export { VersionsBehind } from './versions-behind';
export type { VersionMove, VersionsBehindResult } from './versions-behind';
export type { DeadLetter, DeadLetterSink } from './dead-letters';
export { BatchRevokedError, heartbeatIntervalMs } from './incoming-batch';
export type { IncomingBatch, IncomingMessage } from './incoming-batch';
export { BatchAbandonedError, IdempotencyKeyReusedError } from './saga-errors';
export { SAGA_LOG } from './saga-log';
export {
  BatchCoalescer,
  BatchSupersededError,
  mergeBatches,
  partitionKey,
} from './batch-coalescer';
