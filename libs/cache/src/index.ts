export { CacheRepair } from './cache-repair';
export { CacheModule } from './cache.module';
export { freshnessNines } from './freshness-nines';
export { TagPurger } from './tag-purger';
export type { PurgeResult } from './tag-purger';
export { VersionPublisher } from './version-publisher';
export type { PublishedVersion } from './version-publisher';
export { StalenessSampler } from './staleness-sampler';
export type { BumpedAt, StalenessSample } from './staleness-sampler';
