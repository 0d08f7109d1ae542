export { CacheClient } from './cache-client';
export type { CacheClientOptions, RememberOptions } from './cache-client';
export { CLIENT_METRICS } from './client-metrics';
export type { ClientStats } from './client-metrics';
export {
  GLOBAL_VERSION_KEY,
  VERSIONS_CHANNEL,
  parseVersion,
  tagKey,
  versionKey,
  versionValue,
} from './contract-keys';
export { EntryFormatError, decodeEntry, decodeHeader, encodeEntry } from './entry-format';
export type { EntryHeader } from './entry-format';
export type { RedisLike, VersionSnapshot } from './version-cache';
