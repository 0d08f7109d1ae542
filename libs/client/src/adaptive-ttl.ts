/**
 * TTL from access frequency: a key read often lives longer, one read rarely keeps the TTL it
 * was asked for, always within [minTtl, maxTtl] seconds. Frequency is this process's reads of
 * the key over the last window, kept for a bounded number of keys (least recently read go).
 */
export interface AdaptiveTtlOptions {
  minTtl: number;
  maxTtl: number;
  /** Window over which reads are counted, ms. */
  windowMs: number;
  /** Keys tracked at most. */
  maxKeys: number;
}

export class AdaptiveTtl {
  private readonly reads = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly options: AdaptiveTtlOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a read of the key. */
  touch(key: string): void {
    const now = this.now();
    const seen = this.reads.get(key);
    this.reads.delete(key);
    if (seen && now - seen.since < this.options.windowMs) {
      this.reads.set(key, { count: seen.count + 1, since: seen.since });
    } else {
      this.reads.set(key, { count: 1, since: now });
    }
    if (this.reads.size > this.options.maxKeys) {
      const oldest = this.reads.keys().next().value;
      if (oldest !== undefined) this.reads.delete(oldest);
    }
  }

  /**
   * The TTL to store the key with, seconds: the requested one for a key read once (the read that
   * missed), longer by the requested TTL per doubling of reads in the window.
   */
  ttlFor(key: string, requested: number): number {
    const seen = this.reads.get(key);
    const fresh = seen && this.now() - seen.since < this.options.windowMs;
    const count = fresh ? seen.count : 0;
    const ttl = Math.round(requested * (count <= 1 ? 1 : 1 + Math.log2(count)));
    return Math.min(this.options.maxTtl, Math.max(this.options.minTtl, ttl));
  }
}
