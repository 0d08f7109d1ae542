export {
  EventLookupBusyError,
  EventLookupTimeoutError,
  IdempotencyKeyRaceError,
  RejectedRowError,
  StaleFenceError,
} from './errors';
export { THROWAWAY_TYPE_PREFIX, globalVersionString } from './version-hash';
export { VersionRepository } from './version.repository';
export type { BumpRequest, BumpResult, LedgerEvent, VersionState } from './version.repository';
export { VersionAuditRepository } from './version-audit.repository';
export type { LastBump } from './version-audit.repository';
export { VersioningModule } from './versioning.module';
export { VERSIONING_MIGRATIONS } from './migrations';
export { CoherenceRepository } from './coherence.repository';
export type { AuditDuplicate, AuditGap, HashMismatch } from './coherence.repository';
export { AppliedEventsRepository } from './applied-events.repository';
export type { AppliedEvent } from './applied-events.repository';
export { RETAINED_TABLES, RetentionRepository } from './retention.repository';
export type { RetainedTable } from './retention.repository';
export { PACKED_EVENT_BYTES, packEvents, unpackEvents } from './offset-ledger';
export type { OffsetRegression } from './offset-ledger';
