export { REDIS_CLIENT, redisSecurity, redisUrl } from './redis.provider';
export { RedisModule } from './redis.module';
export { RedisReadiness } from './redis-readiness';
export { scanKeys } from './scan-keys';
export {
  clusterHealth,
  execReplicated,
  groupBySlot,
  isCluster,
  keyInSlotOf,
  masters,
} from './redis-topology';
export type { ClusterHealth, RedisClient } from './redis-topology';
