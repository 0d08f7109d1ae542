import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, INSTANCE_ID, withTimeout } from '@invalidator/config';
import { CacheRepair } from '@invalidator/cache';
import { LockSweeper } from '@invalidator/locking';
import {
  CircuitBreakerService,
  CircuitState,
  Incident,
  IncidentRepository,
  InvalidatorMetrics,
  SagaStats,
} from '@invalidator/monitoring';
import {
  THROWAWAY_TYPE_PREFIX,
  VersionAuditRepository,
  VersionRepository,
  globalVersionString,
} from '@invalidator/versioning';
import { HistoryPoint, MetricsHistory, WINDOW_SECONDS } from './metrics-history';

const STORE_READ_TIMEOUT_MS = 1500;
const INCIDENTS_SHOWN = 20;

export interface VersionRow {
  dataType: string;
  version: string;
  updatedAt: string;
  lastBump: { actor: string; at: string } | null;
}

/** Figures read from the shared stores: the same on every instance. */
export interface SharedFigures {
  versions: VersionRow[];
  /** `inertia.data.version` as Redis holds it (what the web tier keys on), else MySQL's. */
  globalVersion: { redis: string | null; mysql: string | null };
  locks: { dataType: string; ageMs: number | null; ttlMs: number }[] | null;
  incidents: Incident[] | null;
  /** Which store could not be read just now; its figures are the last ones read. */
  unavailable: ('mysql' | 'redis')[];
}

/** This instance's own figures. */
export interface InstanceFigures {
  instance: string;
  startedAt: string;
  breaker: { state: CircuitState; changedAt: string };
  totals: ReturnType<SagaStats['figures']>;
  lag: { topic: string; partition: string; messages: number }[];
  fallbacks: number;
  adminAccess: { route: string; outcome: string; reason: string; count: number }[];
}

export interface DashboardState {
  instance: InstanceFigures;
  shared: SharedFigures;
  thresholds: {
    performanceMs: number;
    errorRate: number;
    /** The stage percentiles' window. */
    windowSeconds: number;
    /** The error rate's window: the breaker's. */
    errorWindowSeconds: number;
  };
}

export interface DashboardSnapshot extends DashboardState {
  type: 'snapshot';
  history: HistoryPoint[];
}

export interface DashboardUpdate extends DashboardState {
  type: 'update';
  /** The latest points; the page appends those newer than its last. */
  points: HistoryPoint[];
}

const timed = <T>(read: Promise<T>) => withTimeout(read, STORE_READ_TIMEOUT_MS, 'store read');

/**
 * What the dashboard shows: this instance's figures from its metrics, breaker and saga stats,
 * and the shared ones (versions, locks, incidents) read from the stores. A store that does not
 * answer leaves its last figures in place, flagged, so the page keeps working during an outage.
 */
@Injectable()
export class DashboardService {
  private readonly startedAt = new Date().toISOString();
  private shared: SharedFigures = {
    versions: [],
    globalVersion: { redis: null, mysql: null },
    locks: null,
    incidents: null,
    unavailable: [],
  };
  private reading?: Promise<SharedFigures>;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Data types of the last versions read: whose lock keys the page lists. */
  private knownTypes?: string[];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly history: MetricsHistory,
    private readonly stats: SagaStats,
    private readonly breaker: CircuitBreakerService,
    private readonly metrics: InvalidatorMetrics,
    private readonly incidents: IncidentRepository,
    private readonly versions: VersionRepository,
    private readonly audit: VersionAuditRepository,
    private readonly locks: LockSweeper,
    private readonly cache: CacheRepair,
  ) {}

  async snapshot(): Promise<DashboardSnapshot> {
    return { type: 'snapshot', ...(await this.state()), history: this.history.history() };
  }

  async update(points: HistoryPoint[]): Promise<DashboardUpdate> {
    return { type: 'update', ...(await this.state()), points };
  }

  private async state(): Promise<DashboardState> {
    return {
      instance: await this.instanceFigures(),
      shared: await this.sharedFigures(),
      thresholds: {
        performanceMs: this.config.PERFORMANCE_THRESHOLD_MS,
        errorRate: this.config.ERROR_RATE_THRESHOLD,
        windowSeconds: WINDOW_SECONDS,
        errorWindowSeconds: this.history.errorWindowSeconds,
      },
    };
  }

  private async instanceFigures(): Promise<InstanceFigures> {
    const lag = (await this.metrics.consumerLag.get()).values;
    const fallbacks = (await this.metrics.lockFallbacks.get()).values;
    const access = (await this.metrics.adminAccess.get()).values;
    return {
      instance: INSTANCE_ID,
      startedAt: this.startedAt,
      breaker: { state: this.breaker.state, changedAt: this.breaker.changedAt.toISOString() },
      totals: this.stats.figures(),
      lag: lag
        .map((v) => ({
          topic: String(v.labels.topic),
          partition: String(v.labels.partition),
          messages: v.value,
        }))
        .sort((a, b) =>
          a.topic === b.topic
            ? Number(a.partition) - Number(b.partition)
            : a.topic < b.topic
              ? -1
              : 1,
        ),
      fallbacks: fallbacks.reduce((total, v) => total + v.value, 0),
      adminAccess: access.map((v) => ({
        route: String(v.labels.route),
        outcome: String(v.labels.outcome),
        reason: String(v.labels.reason),
        count: v.value,
      })),
    };
  }

  /** One read of the stores at a time, however many clients ask. */
  private sharedFigures(): Promise<SharedFigures> {
    this.reading ??= this.readShared().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /**
   * A store read still running after its timeout gave up on it is joined, never started again:
   * a slow store gets one read at a time, not one more each second a page is open.
   */
  private once<T>(store: 'versions' | 'incidents' | 'redis', read: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(store);
    if (running) return running as Promise<T>;
    const started = read().finally(() => this.inFlight.delete(store));
    this.inFlight.set(store, started);
    return started;
  }

  private async readShared(): Promise<SharedFigures> {
    const unavailable = new Set<'mysql' | 'redis'>();
    const next = { ...this.shared, globalVersion: { ...this.shared.globalVersion } };
    const rows = this.once('versions', () =>
      Promise.all([this.versions.readAll(), this.audit.lastBumps()]),
    );
    await Promise.all([
      timed(rows).then(
        ([rows, bumps]) => {
          this.knownTypes = rows.map((r) => r.dataType);
          const shown = rows.filter((r) => !r.dataType.startsWith(THROWAWAY_TYPE_PREFIX));
          const last = new Map(bumps.map((b) => [b.dataType, b]));
          next.versions = shown.map((r) => {
            const bump = last.get(r.dataType);
            return {
              dataType: r.dataType,
              version: r.version.toString(),
              updatedAt: r.updatedAt.toISOString(),
              lastBump: bump ? { actor: bump.actor, at: bump.at.toISOString() } : null,
            };
          });
          next.globalVersion.mysql = globalVersionString(rows);
        },
        () => unavailable.add('mysql'),
      ),
      timed(this.once('incidents', () => this.incidents.latest(INCIDENTS_SHOWN))).then(
        (incidents) => (next.incidents = incidents),
        () => unavailable.add('mysql'),
      ),
      // The locks of the types MySQL knows (those of the last read; the first waits for it),
      // one key each: never a SCAN of the keyspace.
      timed(
        this.once('redis', async () => {
          const types = this.knownTypes ?? (await rows)[0].map((r) => r.dataType);
          return Promise.all([this.locks.held(types), this.cache.versionKeys([])]);
        }),
      ).then(
        ([held, keys]) => {
          next.locks = held.map((lock) => ({
            dataType: lock.dataType,
            // A lock is written with LOCK_TTL_MS: what it has lost of it is its age (since the
            // grant or its last extension). Unknown for a key without expiry.
            ageMs: lock.ttlMs >= 0 ? Math.max(this.config.LOCK_TTL_MS - lock.ttlMs, 0) : null,
            ttlMs: lock.ttlMs,
          }));
          next.globalVersion.redis = keys.global;
        },
        () => unavailable.add('redis'),
      ),
    ]);
    next.unavailable = [...unavailable];
    this.shared = next;
    return next;
  }
}
