import { Cluster } from 'ioredis';
import type { Registry } from 'prom-client';
import { AdaptiveTtl } from './adaptive-ttl';
import { ClientMetrics, ClientStats } from './client-metrics';
import { EntryFormatError, EntryHeader, decodeEntryJson, encodeEntry } from './entry-format';
import { storeFill } from './fill-store';
import { LocalTicket, LocalTier, LocalTierOptions, LocalTierState } from './local-tier';
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
  /**
   * An in-process tier in front of Redis, bounded by entries and by bytes of JSON (off by
   * default). Its bounds are the process's, so they are set here, once, not per `remember()`
   * call. One Redis only: a Cluster client replaces its subscriber connection without telling,
   * so a lost announcement could not be seen.
   */
  local?: LocalTierOptions;
}

export interface RememberOptions {
  /** Tags whose purge must remove this entry (`product:123` → set `shop.tag.product:123`). */
  tags?: string[];
  /** Requested TTL, seconds; the adaptive TTL may lengthen it within the bounds. */
  ttl: number;
  /** Types the entry's data comes from (default the `global` version: any change). */
  types?: string[];
  /**
   * Whether this entry goes through the client's in-process tier, when it has one (default
   * true). Its tags are the ones given here: give the same tags on every call for a key.
   */
  local?: boolean;
}

/** The value and its remaining TTL, seconds (rounded: Redis TTL rounds to the nearest second). */
const READ_WITH_TTL_SCRIPT = `return {redis.call('GET', KEYS[1]), redis.call('TTL', KEYS[1])}`;

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
  private readonly local?: LocalTier;

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
    if (options.local) {
      if (redis instanceof Cluster) {
        throw new Error(
          'local: the in-process tier needs a single Redis (a Cluster client replaces its ' +
            'subscriber connection without an event, so a lost announcement would go unseen)',
        );
      }
      this.local = new LocalTier(options.local);
    }
  }

  /** A client listening to the service's version announcements. */
  static async connect(options: CacheClientOptions): Promise<CacheClient> {
    const metrics = await ClientMetrics.create(options.registry);
    const client = new CacheClient(options.redis, options, metrics);
    await client.versionCache.listen(client.local);
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

  /**
   * The cached value (from the in-process tier, else Redis), or `fill()`'s, stored only if no
   * noted version moved meanwhile.
   */
  async remember<T>(key: string, options: RememberOptions, fill: () => Promise<T>): Promise<T> {
    this.ttl.touch(key);
    // Taken first: whatever drops entries after this point keeps this read's value out.
    const ticket = options.local === false ? undefined : this.local?.ticket();
    if (ticket) {
      const local = await this.fromLocal<T>(key);
      if (local) {
        this.metrics.add('localHits');
        return local.value;
      }
    }
    const readAt = Date.now();
    const { cached, ttl } = ticket
      ? await this.readWithTtl(key)
      : { cached: await this.redis.getBuffer(key), ttl: 0 };
    const hit = cached ? readable<T>(cached) : undefined;
    if (hit) {
      this.metrics.add('hits');
      if (ticket && ttl > 0) {
        // Its versions are compared with the client's: a first read of them, else the memo.
        await this.versionCache.of(Object.keys(hit.header.versions));
        // Redis rounds the TTL to the nearest second: half a second less, from before the read.
        this.keepLocal(key, hit, options, ticket, readAt + ttl * 1000 - 500);
      }
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
    const entry = { noted, fill: this.fillAndStore(key, options, noted, fill, ticket) };
    this.inFlight.set(key, entry);
    return entry.fill.finally(() => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    });
  }

  stats(): ClientStats {
    return this.metrics.stats();
  }

  /** The in-process tier's entries, bytes and whether it is in use; undefined without one. */
  localTier(): LocalTierState | undefined {
    return this.local?.state();
  }

  async close(): Promise<void> {
    await this.versionCache.close();
  }

  private async fillAndStore<T>(
    key: string,
    options: RememberOptions,
    noted: Record<string, number>,
    fill: () => Promise<T>,
    ticket: LocalTicket | undefined,
  ): Promise<T> {
    const value = await fill();
    const header = { versions: noted, storedAt: Date.now() };
    const { bytes, json, saved } = encodeEntry(value, header, this.compressAbove);
    const ttl = this.ttl.ttlFor(key, options.ttl);
    const storingAt = Date.now();
    const stored = await storeFill(this.redis, {
      key,
      bytes,
      ttl,
      tags: options.tags ?? [],
      noted,
      check: this.versionCheck,
    });
    if (!stored) this.metrics.add('staleFillsRejected');
    else if (saved > 0) this.metrics.add('compressedBytesSaved', saved);
    // Only a value Redis took: a refused one was read before a change. Its Redis TTL starts
    // when the script runs, after `storingAt`.
    if (stored && ticket) {
      const text = json.toString();
      this.keepLocal(
        key,
        { header, text, bytes: json.length },
        options,
        ticket,
        storingAt + ttl * 1000,
      );
    }
    return value;
  }

  /** A value of the local tier whose versions are still the current ones. */
  private async fromLocal<T>(key: string): Promise<{ value: T } | undefined> {
    const local = this.local as LocalTier;
    const peeked = local.peek(key);
    if (!peeked) return undefined;
    // Memoized (read again every versionMemoMs): a bump whose announcement was lost is seen too.
    const current = await this.versionCache.of(Object.keys(peeked.versions));
    // Looked up again: an announcement or a loss during the await has dropped it.
    const entry = local.get(key, current);
    return entry ? { value: JSON.parse(entry.json) as T } : undefined;
  }

  private keepLocal(
    key: string,
    { header, text, bytes }: Kept,
    options: RememberOptions,
    ticket: LocalTicket,
    expiresAt: number,
  ): void {
    (this.local as LocalTier).put(
      key,
      {
        json: text,
        bytes,
        versions: header.versions,
        tagged: (options.tags ?? []).length > 0,
        expiresAt,
      },
      ticket,
      (type) => this.versionCache.known(type),
    );
  }

  /** GET and TTL in one script (atomic: the TTL is the value's), value as bytes. */
  private async readWithTtl(key: string): Promise<{ cached: Buffer | null; ttl: number }> {
    const [cached, ttl] = (await this.redis.callBuffer('eval', READ_WITH_TTL_SCRIPT, 1, key)) as [
      Buffer | null,
      number,
    ];
    return { cached, ttl: Number(ttl) };
  }
}

/** A decoded entry, with its JSON text and byte count for the local tier. */
interface Kept {
  header: EntryHeader;
  text: string;
  bytes: number;
}

/** A value in another format (not written by this client) is a miss, refilled over it. */
function readable<T>(bytes: Buffer): (Kept & { value: T }) | undefined {
  try {
    const { header, json } = decodeEntryJson(bytes);
    const text = json.toString();
    return { header, text, bytes: json.length, value: JSON.parse(text) as T };
  } catch (error) {
    if (error instanceof EntryFormatError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
