import type { Cluster, Redis } from 'ioredis';
import { GLOBAL_VERSION_KEY, VERSIONS_CHANNEL, parseVersion, versionKey } from './contract-keys';

export type RedisLike = Redis | Cluster;

export interface VersionSnapshot {
  /** Version of each known type (0 when Redis has none yet). */
  versions: Record<string, number>;
  /** `inertia.data.version`, or null when Redis has none yet. */
  global: string | null;
  /**
   * Per type, the highest version an announcement named: that saga's versions written and its
   * tags purged. It says nothing of another instance's saga of an older version, whose purge
   * may still run (a row-lock fallback, a holder stalled past its lock's TTL).
   */
  announced: Record<string, number>;
}

/** What the subscription tells besides the versions (the local tier listens to it). */
export interface SubscriptionListener {
  /** An announcement, as it arrives; undefined when it could not be read. */
  announced(versions: Record<string, number> | undefined): void;
  /** The subscription's connection is lost: announcements may be missed from now on. */
  lost(): void;
  /** Subscribed again after a loss: announcements are heard again. */
  back(): void;
}

/** Types asked for beyond the configured ones that are kept, by default. */
export const MAX_LEARNED_TYPES = 100;

/**
 * The current versions, memoized for `memoMs` and refreshed at once when the service
 * announces a bump. Versions never go backwards here: a read that lost a race with an
 * announcement keeps the newer numbers. The configured types are always kept; of the types
 * asked for beyond them, the `maxLearned` asked for last (more only while one call asks for
 * more at once): a forgotten one is read again when next asked for.
 */
export class VersionCache {
  private snapshot?: VersionSnapshot;
  private readAt = 0;
  private reading?: Promise<VersionSnapshot>;
  private subscriber?: RedisLike;
  private readonly configured: ReadonlySet<string>;
  /** Types asked for beyond the configured ones, the least recently asked for first. */
  private readonly learned = new Set<string>();

  constructor(
    private readonly redis: RedisLike,
    types: string[],
    private readonly memoMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxLearned = MAX_LEARNED_TYPES,
  ) {
    this.configured = new Set(types);
  }

  /**
   * Subscribes to the service's announcements on a connection of its own. When that connection
   * is lost, the memo is read again at the next call and `listener.lost()` is told; once ioredis
   * has reconnected, the channel is subscribed again (ioredis resubscribes too; a second
   * SUBSCRIBE is harmless and its reply says the subscription is in effect) and `back()` told.
   */
  async listen(listener?: SubscriptionListener): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    const channel = `${this.redis.options.keyPrefix ?? ''}${VERSIONS_CHANNEL}`;
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      // Merged first (a listener-less client still needs it), then told.
      const versions = this.announced(message);
      listener?.announced(versions);
    });
    let down = false;
    let closes = 0;
    subscriber.on('close', () => {
      closes += 1;
      this.readAt = 0;
      if (down) return;
      down = true;
      listener?.lost();
    });
    subscriber.on('ready', () => {
      if (!down) return;
      const at = closes;
      subscriber.subscribe(channel).then(
        () => {
          // Lost again before the reply: the next 'ready' tries again.
          if (!down || closes !== at) return;
          down = false;
          this.readAt = 0;
          listener?.back();
        },
        () => undefined,
      );
    });
    await subscriber.subscribe(channel);
  }

  /** The latest version of a tracked type known here (announcements included), no read. */
  known(type: string): number | undefined {
    return this.tracks(type) ? this.snapshot?.versions[type] : undefined;
  }

  async current(): Promise<VersionSnapshot> {
    if (this.snapshot && this.now() - this.readAt < this.memoMs) return this.snapshot;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Versions of the given types, from the memo; a type not read so far is read from now on. */
  async of(types: string[]): Promise<Record<string, number>> {
    const untracked = types.filter((t) => !this.tracks(t));
    this.learn(types);
    const { versions } = untracked.length > 0 ? await this.read() : await this.current();
    return Object.fromEntries(types.map((t) => [t, versions[t] ?? 0]));
  }

  /** Versions straight from Redis, bypassing the memo. */
  async fromRedis(types: string[]): Promise<Record<string, number>> {
    const values = await Promise.all(types.map((t) => this.redis.get(versionKey(t))));
    return Object.fromEntries(types.map((t, i) => [t, parseVersion(values[i])]));
  }

  async close(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }

  private async read(): Promise<VersionSnapshot> {
    const startedAt = this.now();
    const [versions, global] = await Promise.all([
      this.fromRedis([...this.configured, ...this.learned]),
      this.redis.get(GLOBAL_VERSION_KEY),
    ]);
    this.merge(versions, global);
    this.readAt = startedAt;
    return this.snapshot as VersionSnapshot;
  }

  private tracks(type: string): boolean {
    return this.configured.has(type) || this.learned.has(type);
  }

  /** The types asked for become the most recent; the oldest beyond the bound are forgotten. */
  private learn(types: string[]): void {
    const asked = types.filter((t) => !this.configured.has(t));
    for (const type of asked) {
      this.learned.delete(type);
      this.learned.add(type);
    }
    let forgot = false;
    for (const type of this.learned) {
      if (this.learned.size <= this.maxLearned || asked.includes(type)) break;
      this.learned.delete(type);
      forgot = true;
    }
    if (forgot && this.snapshot) {
      const kept = (versions: Record<string, number>) =>
        Object.fromEntries(Object.entries(versions).filter(([t]) => this.tracks(t)));
      this.snapshot = {
        ...this.snapshot,
        versions: kept(this.snapshot.versions),
        announced: kept(this.snapshot.announced),
      };
    }
  }

  /** Merges an announcement; answers its versions, or undefined when it could not be read. */
  private announced(message: string): Record<string, number> | undefined {
    try {
      const { versions, global } = JSON.parse(message) as {
        versions: Record<string, number>;
        global?: string;
      };
      this.merge(versions, global ?? null, true);
      this.readAt = this.now();
      return versions;
    } catch {
      // Not ours to judge: the next read refreshes from Redis.
      this.readAt = 0;
      return undefined;
    }
  }

  private merge(incoming: Record<string, number>, global: string | null, announced = false): void {
    // Only the types it tracks: announcements of other types do not grow it.
    incoming = Object.fromEntries(Object.entries(incoming).filter(([t]) => this.tracks(t)));
    const versions = newest(this.snapshot?.versions ?? {}, incoming);
    const keepGlobal =
      this.snapshot?.global && global && globalNumber(this.snapshot.global) > globalNumber(global);
    this.snapshot = {
      versions,
      global: keepGlobal
        ? (this.snapshot?.global ?? null)
        : (global ?? this.snapshot?.global ?? null),
      announced: announced
        ? newest(this.snapshot?.announced ?? {}, incoming)
        : (this.snapshot?.announced ?? {}),
    };
  }
}

function newest(
  known: Record<string, number>,
  incoming: Record<string, number>,
): Record<string, number> {
  const merged = { ...known };
  for (const [type, version] of Object.entries(incoming)) {
    merged[type] = Math.max(merged[type] ?? 0, version);
  }
  return merged;
}

function globalNumber(value: string): number {
  return Number(/^(\d+)/.exec(value)?.[1] ?? -1);
}
