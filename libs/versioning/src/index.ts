export { VERSIONING_ENTITIES, ProcessedEvent, ShopDataVersion, VersionAudit } from './entities';
export { InboxRaceError, StaleFenceError } from './errors';
export { VERSIONING_MIGRATIONS } from './migrations';
export { globalVersionString, versionHash } from './version-hash';
export { VersionRepository } from './version.repository';
export type { BumpRequest, BumpResult, InboxEntry, VersionState } from './version.repository';
export { VersioningModule } from './versioning.module';
export { mysqlOptions } from './mysql-options';
