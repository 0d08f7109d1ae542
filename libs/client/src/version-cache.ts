import type { Cluster, Redis } from 'ioredis';
import { GLOBAL_VERSION_KEY, VERSIONS_CHANNEL, parseVersion, versionKey } from './contract-keys';

export type RedisLike = Redis | Cluster;

export interface VersionSnapshot {
  /** Version of each known type (0 when Redis has none yet). */
  versions: Record<string, number>;
  /** `inertia.data.version`, or null when Redis has none yet. */
  global: string | null;
  /**
   * Versions the service has announced: written and their tags purged. A tag-invalidated entry
   * may still be read between a version's write and its announcement; not after it.
   */
  announced: Record<string, number>;
}

/**
 * The current versions, memoized for `memoMs` and refreshed at once when the service
 * announces a bump. Versions never go backwards here: a read that lost a race with an
 * announcement keeps the newer numbers.
 */
export class VersionCache {
  private snapshot?: VersionSnapshot;
  private readAt = 0;
  private reading?: Promise<VersionSnapshot>;
  private subscriber?: RedisLike;

  constructor(
    private readonly redis: RedisLike,
    private readonly types: string[],
    private readonly memoMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Subscribes to the service's announcements on a connection of its own. */
  async listen(): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    const channel = `${this.redis.options.keyPrefix ?? ''}${VERSIONS_CHANNEL}`;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) this.announced(message);
    });
    await subscriber.subscribe(channel);
  }

  async current(): Promise<VersionSnapshot> {
    if (this.snapshot && this.now() - this.readAt < this.memoMs) return this.snapshot;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Versions of the given types, from the memo; a type not read so far is read from now on. */
  async of(types: string[]): Promise<Record<string, number>> {
    const untracked = types.filter((t) => !this.types.includes(t));
    if (untracked.length > 0) this.types.push(...untracked);
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
      this.fromRedis(this.types),
      this.redis.get(GLOBAL_VERSION_KEY),
    ]);
    this.merge(versions, global);
    this.readAt = startedAt;
    return this.snapshot as VersionSnapshot;
  }

  private announced(message: string): void {
    try {
      const { versions, global } = JSON.parse(message) as {
        versions: Record<string, number>;
        global?: string;
      };
      this.merge(versions, global ?? null, true);
      this.readAt = this.now();
    } catch {
      // Not ours to judge: the next read refreshes from Redis.
      this.readAt = 0;
    }
  }

  private merge(incoming: Record<string, number>, global: string | null, announced = false): void {
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
