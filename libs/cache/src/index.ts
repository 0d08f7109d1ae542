export { CacheInspector } from './cache-inspector';
export { CacheModule } from './cache.module';
export { GLOBAL_VERSION_KEY, tagKey, versionKey } from './cache-keys';
export { REDIS_CLIENT } from './redis.provider';
export { TagPurger } from './tag-purger';
export type { PurgeResult } from './tag-purger';
export { VersionPublisher } from './version-publisher';
export type { PublishedVersion } from './version-publisher';
