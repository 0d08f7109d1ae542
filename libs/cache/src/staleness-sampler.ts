import { Inject, Injectable } from '@nestjs/common';
import { decodeHeader, parseVersion, versionKey } from '@invalidator/client';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { REDIS_CLIENT, RedisClient } from '@invalidator/redis';
import { freshnessNines } from './freshness-nines';
import { TagReservoir } from './tag-reservoir';

export interface StalenessSample {
  /** Entries read through a tag set and decoded. */
  sampled: number;
  /** Of those, entries stored after a version newer than the one their fill noted. */
  stale: number;
  /** Members drawn that were gone or not in the client's format (not counted in `sampled`). */
  skipped: number;
  ratio: number;
  /** -log10(ratio); with no stale entry, log10(sampled): the nines the sample can vouch for. */
  nines: number;
}

/** When the bump to a version committed (epoch ms), if known: the version audit in MySQL. */
export type BumpedAt = (dataType: string, version: number) => Promise<number | undefined>;

/** SCAN steps of 1000 keys a background sample may take: its read of the keyspace is flat. */
export const SAMPLE_SCAN_STEPS = 8;

/**
 * Samples cached entries of libs/client through the tag sets, as Meta's consistency checker
 * samples its caches. An entry counts as stale when it is still reachable (in a tag set, not
 * expired) and was stored after the bump that followed the version its fill noted had
 * committed: a fill computed from older data that landed after the change, which the client's
 * version check refuses. Times are the web server's and MySQL's clocks. Without `bumpedAt`,
 * or with no audit row, the current version's `updatedAt` is used (it may miss older ones).
 * Tags are drawn from a bounded reservoir (TagReservoir) that each sample renews by
 * `scanSteps` SCAN steps, never from a list of every tag set: a cache of millions of tag sets
 * costs the service no more memory or Redis commands than a small one.
 */
@Injectable()
export class StalenessSampler {
  private readonly tags: TagReservoir;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.tags = new TagReservoir(redis, config.REDIS_KEY_PREFIX);
  }

  /** `scanSteps`: Infinity for an operator's one-off check (one full pass, memory still bounded). */
  async sample(
    samples: number,
    bumpedAt?: BumpedAt,
    scanSteps = SAMPLE_SCAN_STEPS,
  ): Promise<StalenessSample> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    await this.tags.refill(scanSteps);
    const current = memo((type: string) =>
      this.redis.get(versionKey(type)).then((stored) => ({
        version: parseVersion(stored),
        updatedAt: stored ? Date.parse((JSON.parse(stored) as { updatedAt: string }).updatedAt) : 0,
      })),
    );
    // When the version after the noted one committed; Infinity while the noted one is current.
    const superseded = memo(async (typeAndVersion: string) => {
      const at = typeAndVersion.lastIndexOf(':');
      const [type, noted] = [typeAndVersion.slice(0, at), Number(typeAndVersion.slice(at + 1))];
      const now = await current(type);
      if (noted >= now.version) return Infinity;
      return (await bumpedAt?.(type, noted + 1)) ?? now.updatedAt;
    });
    let sampled = 0;
    let stale = 0;
    let skipped = 0;
    for (let attempt = 0; sampled < samples && attempt < samples * 3; attempt++) {
      const tag = this.tags.draw();
      if (tag === undefined) break;
      const member = await this.redis.srandmember(tag);
      if (member === null) this.tags.forget(tag);
      const bytes =
        member?.startsWith(prefix) === true
          ? await this.redis.getBuffer(member.slice(prefix.length))
          : null;
      const header = bytes ? readHeader(bytes) : undefined;
      if (!header) {
        skipped += 1;
        continue;
      }
      sampled += 1;
      for (const [type, noted] of Object.entries(header.versions)) {
        if (header.storedAt >= (await superseded(`${type}:${noted}`))) {
          stale += 1;
          break;
        }
      }
    }
    const ratio = sampled === 0 ? 0 : stale / sampled;
    return { sampled, stale, skipped, ratio, nines: freshnessNines(sampled, stale) };
  }
}

function memo<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const loaded = new Map<string, Promise<T>>();
  return (key) => {
    let found = loaded.get(key);
    if (!found) loaded.set(key, (found = load(key)));
    return found;
  };
}

function readHeader(bytes: Buffer) {
  try {
    return decodeHeader(bytes);
  } catch {
    return undefined;
  }
}
