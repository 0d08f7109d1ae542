import type { Registry } from 'prom-client';
import { AdaptiveTtl } from './adaptive-ttl';
import { ClientMetrics, ClientStats } from './client-metrics';
import { EntryFormatError, decodeEntry, encodeEntry } from './entry-format';
import { storeFill } from './fill-store';
import { RedisLike, VersionCache, VersionSnapshot } from './version-cache';

export interface CacheClientOptions {
  /** ioredis client (single Redis or Cluster); its `keyPrefix` must be the service's prefix. */
  redis: RedisLike;
  /** Types whose versions are read and memoized (default products, categories, global). */
  types?: string[];
  /** How long versions are memoized, ms (default 50); an announcement refreshes them at once. */
  versionMemoMs?: number;
  /** Types asked for beyond `types` that stay memoized, the last asked for (default 100). */
  maxTypes?: number;
  /** Values whose JSON is longer than this many bytes are stored deflated (default 1024). */
  compressAbove?: number;
  /** Bounds of the adaptive TTL, seconds (default 1 and 86400). */
  minTtl?: number;
  maxTtl?: number;
  /** Window of the access counts behind the adaptive TTL, ms (default 60000). */
  accessWindowMs?: number;
  /** Prometheus registry of the host app; without it the counts are in `stats()` only. */
  registry?: Registry;
  /**
   * Store a fill only when the versions it noted are still current (default true). Off, the
   * client is plain cache-aside with tags: kept for measuring what the check prevents.
   */
  versionCheck?: boolean;
}

export interface RememberOptions {
  /** Tags whose purge must remove this entry (`product:123` → set `shop.tag.product:123`). */
  tags?: string[];
  /** Requested TTL, seconds; the adaptive TTL may lengthen it within the bounds. */
  ttl: number;
  /** Types the entry's data comes from (default the `global` version: any change). */
  types?: string[];
}

const DEFAULT_TYPES = ['products', 'categories', 'global'];

/** The web tier's half of Invalidator: versioned keys, tag registration, versioned fills. */
export class CacheClient {
  private readonly versionCache: VersionCache;
  private readonly ttl: AdaptiveTtl;
  private readonly inFlight = new Map<
    string,
    { noted: Record<string, number>; fill: Promise<unknown> }
  >();
  private readonly compressAbove: number;
  private readonly versionCheck: boolean;

  private constructor(
    private readonly redis: RedisLike,
    options: CacheClientOptions,
    private readonly metrics: ClientMetrics,
  ) {
    const types = [...new Set([...(options.types ?? DEFAULT_TYPES), 'global'])];
    this.versionCache = new VersionCache(
      redis,
      types,
      options.versionMemoMs ?? 50,
      Date.now,
      options.maxTypes,
    );
    this.ttl = new AdaptiveTtl({
      minTtl: options.minTtl ?? 1,
      maxTtl: options.maxTtl ?? 86400,
      windowMs: options.accessWindowMs ?? 60000,
      maxKeys: 10000,
    });
    this.compressAbove = options.compressAbove ?? 1024;
    this.versionCheck = options.versionCheck ?? true;
  }

  /** A client listening to the service's version announcements. */
  static async connect(options: CacheClientOptions): Promise<CacheClient> {
    const metrics = await ClientMetrics.create(options.registry);
    const client = new CacheClient(options.redis, options, metrics);
    await client.versionCache.listen();
    return client;
  }

  /** Current versions (memoized) and `inertia.data.version`. */
  versions(): Promise<VersionSnapshot> {
    return this.versionCache.current();
  }

  /** `products:v42:123`: a key that a bump of `type` makes unreachable. */
  async key(type: string, ...parts: (string | number)[]): Promise<string> {
    const { [type]: version } = await this.versionCache.of([type]);
    return [type, `v${version}`, ...parts].join(':');
  }

  /** The cached value, or `fill()`'s, stored only if no noted version moved meanwhile. */
  async remember<T>(key: string, options: RememberOptions, fill: () => Promise<T>): Promise<T> {
    this.ttl.touch(key);
    const cached = await this.redis.getBuffer(key);
    const hit = cached ? readable<T>(cached) : undefined;
    if (hit) {
      this.metrics.add('hits');
      return hit.value;
    }
    this.metrics.add('misses');
    // Noted before the source is read: data read after a change's commit can only be paired
    // with a version at least as old as that change's bump, never a newer one.
    const noted = await this.versionCache.of(options.types ?? ['global']);
    const pending = this.inFlight.get(key);
    // Join a fill in flight only if it noted versions as new as ours: one that began before a
    // change this caller already knows of may have read the data before it.
    if (pending && Object.entries(noted).every(([t, v]) => (pending.noted[t] ?? -1) >= v)) {
      return pending.fill as Promise<T>;
    }
    const entry = { noted, fill: this.fillAndStore(key, options, noted, fill) };
    this.inFlight.set(key, entry);
    return entry.fill.finally(() => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    });
  }

  stats(): ClientStats {
    return this.metrics.stats();
  }

  async close(): Promise<void> {
    await this.versionCache.close();
  }

  private async fillAndStore<T>(
    key: string,
    options: RememberOptions,
    noted: Record<string, number>,
    fill: () => Promise<T>,
  ): Promise<T> {
    const value = await fill();
    const { bytes, saved } = encodeEntry(
      value,
      { versions: noted, storedAt: Date.now() },
      this.compressAbove,
    );
    const stored = await storeFill(this.redis, {
      key,
      bytes,
      ttl: this.ttl.ttlFor(key, options.ttl),
      tags: options.tags ?? [],
      noted,
      check: this.versionCheck,
    });
    if (!stored) this.metrics.add('staleFillsRejected');
    else if (saved > 0) this.metrics.add('compressedBytesSaved', saved);
    return value;
  }
}

/** A value in another format (not written by this client) is a miss, refilled over it. */
function readable<T>(bytes: Buffer): { value: T } | undefined {
  try {
    return decodeEntry<T>(bytes);
  } catch (error) {
    if (error instanceof EntryFormatError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
