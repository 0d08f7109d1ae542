/**
 * The optional in-process tier: a bounded LRU of values in this process's memory, in front of
 * Redis. It is written by hand (a Map in recency order) rather than with `lru-cache`, to keep
 * the package's only dependencies its peers; it bounds both the number of entries and their
 * bytes, and knows nothing of Redis: CacheClient tells it what the service announced.
 *
 * Coherence, entry by entry:
 * - an entry is keyed by the versions its fill noted (the versions its Redis entry was stored
 *   under): a read finds it only while the client's current versions of its types are those;
 * - an announcement that names a newer version of one of its types drops it, and so does any
 *   announcement when it has tags: an announcement names the types a saga bumped, not the tags
 *   it purged, so any of them may have been purged;
 * - it expires no later than its Redis entry (`expiresAt`, reckoned from before the write or
 *   the read that gave its TTL);
 * - a lost subscription drops every entry and bypasses the tier until the subscription is
 *   back: what was announced meanwhile is not known.
 * A value filled or read before one of these events is not kept (its ticket is out of date).
 */
export interface LocalTierOptions {
  /** Entries kept at most. */
  maxEntries: number;
  /** Bytes of their JSON kept at most; a value larger than this is never kept. */
  maxBytes: number;
}

export interface LocalEntry {
  /**
   * The value's JSON, as a string (a slice of a Buffer would hold its whole pool slab): each
   * hit parses its own copy, so no caller can change the kept value.
   */
  json: string;
  /** Its length in bytes, what `maxBytes` counts. */
  bytes: number;
  /** The versions its fill noted, per type it depends on. */
  versions: Record<string, number>;
  /** Registered under tags: any announcement may have purged one of them. */
  tagged: boolean;
  /** Epoch ms after which it is gone (never later than its Redis entry). */
  expiresAt: number;
}

/** What a read notes before it looks elsewhere: a later drop makes its value not kept. */
export interface LocalTicket {
  announcements: number;
  losses: number;
}

export interface LocalTierState {
  entries: number;
  bytes: number;
  /** False while the subscription is lost: the tier is empty and bypassed. */
  listening: boolean;
}

export class LocalTier {
  /** Least recently used first. */
  private readonly entries = new Map<string, LocalEntry>();
  private bytes = 0;
  private announcements = 0;
  private losses = 0;
  private listening = true;

  constructor(
    private readonly options: LocalTierOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.maxEntries >= 1) || !(options.maxBytes >= 1)) {
      throw new RangeError('local: maxEntries and maxBytes must be at least 1');
    }
  }

  /** Undefined while bypassed: the read neither uses nor fills the tier. */
  ticket(): LocalTicket | undefined {
    if (!this.listening) return undefined;
    return { announcements: this.announcements, losses: this.losses };
  }

  /** The entry as it is (not expired), without making it the most recent. */
  peek(key: string): LocalEntry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The entry, if the current versions of its types are the ones it was filled under. */
  get(key: string, current: Record<string, number>): LocalEntry | undefined {
    if (!this.listening) return undefined;
    const entry = this.peek(key);
    if (!entry) return undefined;
    if (Object.entries(entry.versions).some(([type, version]) => current[type] !== version)) {
      this.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /**
   * Keeps the entry unless something that could have made it stale happened since the ticket:
   * the subscription was lost, an announcement came (for a tagged entry), or `known` (the
   * client's latest versions, announcements included) has one of its types newer than it.
   * Answers whether it was kept.
   */
  put(
    key: string,
    entry: LocalEntry,
    ticket: LocalTicket,
    known: (type: string) => number | undefined,
  ): boolean {
    const outdated =
      !this.listening ||
      ticket.losses !== this.losses ||
      (entry.tagged && ticket.announcements !== this.announcements) ||
      Object.entries(entry.versions).some(([type, version]) => {
        const latest = known(type);
        return latest === undefined || latest > version;
      });
    if (outdated || entry.bytes > this.options.maxBytes || entry.expiresAt <= this.now()) {
      return false;
    }
    this.delete(key);
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.bytes <= this.options.maxBytes) {
        break;
      }
      this.delete(oldest);
    }
    return true;
  }

  /**
   * An announcement: drops the entries it may have made stale. `versions` undefined (a message
   * that could not be read) drops them all.
   */
  announced(versions: Record<string, number> | undefined): void {
    this.announcements += 1;
    for (const [key, entry] of this.entries) {
      const stale =
        !versions ||
        entry.tagged ||
        Object.entries(entry.versions).some(
          ([type, version]) => versions[type] !== undefined && versions[type] > version,
        );
      if (stale) this.delete(key);
    }
  }

  /** The subscription is lost: everything goes, and the tier is bypassed until `back()`. */
  lost(): void {
    this.losses += 1;
    this.listening = false;
    this.entries.clear();
    this.bytes = 0;
  }

  back(): void {
    this.listening = true;
  }

  state(): LocalTierState {
    return { entries: this.entries.size, bytes: this.bytes, listening: this.listening };
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}
