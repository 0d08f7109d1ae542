import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric name in one place, so a dashboard and a grep find the same words. */
export const METRIC = {
  sagaDuration: 'invalidator_saga_duration_seconds',
  events: 'invalidator_events_total',
  lockFallbacks: 'invalidator_lock_fallback_total',
  lockFailures: 'invalidator_lock_failures_total',
  keysPurged: 'invalidator_keys_purged_total',
  batchSize: 'invalidator_batch_size_events',
  sagaRetries: 'invalidator_saga_retries_total',
  deadLetters: 'invalidator_dead_letters_total',
  deadLetterRefusals: 'invalidator_dead_letter_refusals_total',
  stageDuration: 'invalidator_stage_duration_seconds',
  lockAcquireDuration: 'invalidator_lock_acquire_duration_seconds',
  circuitState: 'invalidator_circuit_state',
  alerts: 'invalidator_alerts_total',
  dataVersion: 'invalidator_data_version',
  consumerLag: 'invalidator_consumer_lag_messages',
  adminAccess: 'invalidator_admin_access_total',
  redisClusterNodes: 'invalidator_redis_cluster_nodes',
  cacheStaleRatio: 'invalidator_cache_stale_ratio',
  cacheFreshnessNines: 'invalidator_cache_freshness_nines',
  cacheStalenessSampled: 'invalidator_cache_staleness_sampled_entries',
  rowsPruned: 'invalidator_rows_pruned_total',
  offsetRegressions: 'invalidator_offset_regressions_total',
  eventsBySource: 'invalidator_events_by_source_total',
  cdcSkipped: 'invalidator_cdc_skipped_total',
  cdcLag: 'invalidator_cdc_lag_seconds',
  batchesChecked: 'invalidator_batches_checked_total',
} as const;

/** Why an admin request (the bump route, the dashboard's data) was accepted or refused. */
export type AdminAccessOutcome = 'accepted' | 'refused';
export type AdminAccessReason =
  'ok' | 'missing_token' | 'wrong_token' | 'bad_request' | 'locked_out';

/**
 * A saga's stages in the order they run: `fetch` (a message's timestamp to the consumer
 * handing its batch over), `queue` (waiting behind the running saga), then the saga's own
 * steps, and the offset `commit`. The saga's log line carries them as `stages_ms`.
 */
export const SAGA_STAGES = [
  'fetch',
  'queue',
  'lock',
  'transaction',
  'publish',
  'purge',
  'announce',
  'release',
  'commit',
] as const;
export type SagaStage = (typeof SAGA_STAGES)[number];
/** 0 closed, 1 half-open, 2 open: alert on `== 2`. */
export const CIRCUIT_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

export class InvalidatorMetrics {
  readonly sagaDuration: Histogram<'outcome' | 'path'>;
  readonly events: Counter<'type' | 'outcome'>;
  readonly lockFallbacks: Counter;
  readonly lockFailures: Counter<'reason'>;
  readonly keysPurged: Counter;
  readonly batchSize: Histogram;
  readonly sagaRetries: Counter<'error'>;
  readonly deadLetters: Counter<'reason'>;
  readonly deadLetterRefusals: Counter<'error'>;
  readonly stageDuration: Histogram<'stage'>;
  readonly lockAcquireDuration: Histogram<'outcome'>;
  readonly circuitState: Gauge;
  readonly alerts: Counter<'kind'>;
  readonly dataVersion: Gauge<'type'>;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly adminAccess: Counter<'route' | 'outcome' | 'reason'>;
  readonly redisClusterNodes: Gauge;
  readonly cacheStaleRatio: Gauge;
  readonly cacheFreshnessNines: Gauge;
  readonly cacheStalenessSampled: Gauge;
  readonly rowsPruned: Counter<'table'>;
  readonly offsetRegressions: Counter;
  readonly eventsBySource: Counter<'source'>;
  readonly cdcSkipped: Counter<'reason'>;
  readonly cdcLag: Histogram;
  readonly batchesChecked: Counter<'thread'>;

  constructor(readonly registry: Registry) {
    collectDefaultMetrics({ register: registry });
    // prom-client names three gauges `*_total`, which Prometheus reserves for counters (promtool
    // flags them); their totals-without-breakdown twins (nodejs_active_*) carry the same data.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      registry.removeSingleMetric(name);
    }
    this.sagaDuration = new Histogram({
      name: METRIC.sagaDuration,
      help: 'Duration of one invalidation saga (one batch), by outcome and lock path',
      labelNames: ['outcome', 'path'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.events = new Counter({
      name: METRIC.events,
      help: 'Events handled, by event type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    this.lockFallbacks = new Counter({
      name: METRIC.lockFallbacks,
      help: 'Sagas that ran on the MySQL row-lock fallback because the Redis lock was unavailable',
      registers: [registry],
    });
    this.lockFailures = new Counter({
      name: METRIC.lockFailures,
      help: 'Redis lock acquisitions that failed, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.eventsBySource = new Counter({
      name: METRIC.eventsBySource,
      help: 'Events validated, by source: contract (the shop) or cdc (Debezium change events)',
      labelNames: ['source'],
      registers: [registry],
    });
    this.cdcSkipped = new Counter({
      name: METRIC.cdcSkipped,
      help: 'Change events neither applied nor dead-lettered, by reason: tombstone or snapshot',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.batchesChecked = new Counter({
      name: METRIC.batchesChecked,
      help: 'Batches parsed and validated, by thread: main, or check (CHECK_THREAD_MIN_MESSAGES)',
      labelNames: ['thread'],
      registers: [registry],
    });
    this.cdcLag = new Histogram({
      name: METRIC.cdcLag,
      help: "Seconds from a change's commit (source.ts_ms, 1 s precision) to its purge",
      buckets: [0.5, 1, 2, 3, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.keysPurged = new Counter({
      name: METRIC.keysPurged,
      help: 'Cache keys unlinked by tag purges',
      registers: [registry],
    });
    this.batchSize = new Histogram({
      name: METRIC.batchSize,
      help: 'Events per saga batch',
      buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000],
      registers: [registry],
    });
    this.sagaRetries = new Counter({
      name: METRIC.sagaRetries,
      help: 'Saga attempts that failed and were retried with back-off, by error',
      labelNames: ['error'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: METRIC.deadLetters,
      help: 'Messages sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.deadLetterRefusals = new Counter({
      name: METRIC.deadLetterRefusals,
      help: 'Dead-letter sends the broker refused as too large (then split and resent), by error',
      labelNames: ['error'],
      registers: [registry],
    });
    this.stageDuration = new Histogram({
      name: METRIC.stageDuration,
      help: `Duration of one saga stage: ${SAGA_STAGES.join(', ')}`,
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.lockAcquireDuration = new Histogram({
      name: METRIC.lockAcquireDuration,
      help: 'Time to take the Redis locks of a saga, retries included, by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.circuitState = new Gauge({
      name: METRIC.circuitState,
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      registers: [registry],
    });
    this.alerts = new Counter({
      name: METRIC.alerts,
      help: 'Alerts raised, by kind',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.dataVersion = new Gauge({
      name: METRIC.dataVersion,
      help: 'Current data version by type, as last published by this instance',
      labelNames: ['type'],
      registers: [registry],
    });
    this.consumerLag = new Gauge({
      name: METRIC.consumerLag,
      help: 'Messages behind the high watermark, per assigned partition, at the last batch',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    });
    this.redisClusterNodes = new Gauge({
      name: METRIC.redisClusterNodes,
      help: 'Redis Cluster nodes (masters and replicas) the cluster reports; 0 on a single Redis',
      registers: [registry],
    });
    this.cacheStaleRatio = new Gauge({
      name: METRIC.cacheStaleRatio,
      help: 'Share of sampled web-tier cache entries stored after a newer version than their fill noted',
      registers: [registry],
    });
    this.cacheFreshnessNines = new Gauge({
      name: METRIC.cacheFreshnessNines,
      help: 'Freshness nines of the last staleness sample: -log10(stale ratio), log10(sampled) when none is stale',
      registers: [registry],
    });
    this.cacheStalenessSampled = new Gauge({
      name: METRIC.cacheStalenessSampled,
      help: 'Entries in the last staleness sample',
      registers: [registry],
    });
    this.rowsPruned = new Counter({
      name: METRIC.rowsPruned,
      help: 'Rows deleted past their retention window, by table',
      labelNames: ['table'],
      registers: [registry],
    });
    this.adminAccess = new Counter({
      name: METRIC.adminAccess,
      help: 'Admin access attempts (bump route, dashboard data and socket), by route, outcome and reason',
      labelNames: ['route', 'outcome', 'reason'],
      registers: [registry],
    });
    // No labels, so the series exists at 0 from start-up and `increase()` sees the first one.
    this.offsetRegressions = new Counter({
      name: METRIC.offsetRegressions,
      help: 'Partitions found below the offset ledger (topic recreated, log truncated, new cluster): their events applied as new',
      registers: [registry],
    });
  }

  countAdminAccess(route: 'bump' | 'dashboard', reason: AdminAccessReason): void {
    this.adminAccess.inc({ route, outcome: reason === 'ok' ? 'accepted' : 'refused', reason });
  }
}
