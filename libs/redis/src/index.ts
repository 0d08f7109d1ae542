export { REDIS_CLIENT } from './redis.provider';
export { probeRedis } from './redis-probe';
export { RedisModule } from './redis.module';
export { RedisReadiness } from './redis-readiness';
export { scanKeys } from './scan-keys';
export {
  clusterHealth,
  execOnNodes,
  groupBySlot,
  isCluster,
  keyInSlotOf,
  masters,
} from './redis-topology';
export type { ClusterHealth, RedisClient } from './redis-topology';
