export { InboxRaceError, RejectedRowError, StaleFenceError } from './errors';
export { THROWAWAY_TYPE_PREFIX, globalVersionString } from './version-hash';
export { VersionRepository } from './version.repository';
export type { BumpRequest, BumpResult, InboxEntry, VersionState } from './version.repository';
export { VersioningModule } from './versioning.module';
export { mysqlOptions } from './mysql-options';
export { CoherenceRepository } from './coherence.repository';
export type { AuditDuplicate, AuditGap, HashMismatch } from './coherence.repository';
