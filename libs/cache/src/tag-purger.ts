import { Inject, Injectable } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { tagKey } from './cache-keys';
import {
  REDIS_CLIENT,
  RedisClient,
  execReplicated,
  groupBySlot,
  isCluster,
} from '@invalidator/redis';

// One atomic step per script call: a key the web tier adds to a set cannot slip between
// reading the members and unlinking the set. UNLINK frees memory off the main thread.
const PURGE_TAGS_SCRIPT = `
local n = 0
for k = 1, #KEYS do
  local members = redis.call('SMEMBERS', KEYS[k])
  local m = #members
  for i = 1, m, 1000 do
    redis.call('UNLINK', unpack(members, i, math.min(i + 999, m)))
  end
  n = n + m
end
for i = 1, #KEYS, 1000 do
  redis.call('UNLINK', unpack(KEYS, i, math.min(i + 999, #KEYS)))
end
return n
`;

/** Tag sets per script call: bounded, so one call never holds Redis for long. */
const TAGS_PER_CALL = 1000;

/** Members unlinked or removed from a set per command. */
const CHUNK = 1000;

export interface PurgeResult {
  tags: number;
  keys: number;
}

@Injectable()
export class TagPurger {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /** Removes every tag set and the keys in it; idempotent. */
  async purge(tags: string[]): Promise<PurgeResult> {
    if (tags.length === 0) return { tags: 0, keys: 0 };
    const keys = isCluster(this.redis)
      ? await this.purgeAcrossSlots(tags)
      : await this.purgeInOneStep(tags);
    return { tags: tags.length, keys };
  }

  /** One server: one round trip for all tags, a script call per thousand tags. */
  private async purgeInOneStep(tags: string[]): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < tags.length; i += TAGS_PER_CALL) {
      const keys = tags.slice(i, i + TAGS_PER_CALL).map(tagKey);
      pipeline.eval(PURGE_TAGS_SCRIPT, keys.length, ...keys);
    }
    return sumReplies(await pipeline.exec());
  }

  /**
   * A cluster: the members of a set live in other slots than the set, so no script can unlink
   * them together. Read the members, unlink them grouped by slot, then remove from the set
   * exactly those members (Redis drops the set when it is empty). A key the web tier adds
   * meanwhile stays in the set for the next purge, and a crash half-way leaves the set whole
   * enough for the redelivered purge to finish the job.
   */
  private async purgeAcrossSlots(tags: string[]): Promise<number> {
    const cluster = this.redis as Cluster;
    const sets = await Promise.all(tags.map((tag) => this.redis.smembers(tagKey(tag))));
    const members = [...new Set(sets.flat())];
    // Members are the web tier's full key names; the client adds REDIS_KEY_PREFIX to every key
    // it sends, so strip it (a member outside the prefix is not ours to reach; it has its TTL).
    const prefix = this.redis.options.keyPrefix ?? '';
    const unprefixed = members.map((m) => (m.startsWith(prefix) ? m.slice(prefix.length) : null));
    const ours = unprefixed.filter((m): m is string => m !== null);
    await Promise.all(
      groupBySlot(this.redis, ours, (k) => k).map((group) =>
        execReplicated(cluster, (p) => {
          for (let i = 0; i < group.length; i += CHUNK) p.unlink(...group.slice(i, i + CHUNK));
        }),
      ),
    );
    await Promise.all(
      tags.map((tag, i) =>
        sets[i].length === 0
          ? undefined
          : execReplicated(cluster, (p) => {
              for (let j = 0; j < sets[i].length; j += CHUNK) {
                p.srem(tagKey(tag), ...sets[i].slice(j, j + CHUNK));
              }
            }),
      ),
    );
    return members.length;
  }
}

function sumReplies(results: [Error | null, unknown][] | null): number {
  let keys = 0;
  for (const [error, count] of results ?? []) {
    if (error) throw error;
    keys += Number(count);
  }
  return keys;
}
