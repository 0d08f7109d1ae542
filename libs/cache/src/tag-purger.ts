import { Inject, Injectable } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { tagKey } from '@invalidator/client';
import {
  REDIS_CLIENT,
  RedisClient,
  execOnNodes,
  groupBySlot,
  isCluster,
  keyInSlotOf,
} from '@invalidator/redis';

/**
 * On a cluster, a tag set's members while a purge unlinks them (the service's own key, no part
 * of the contract). `{hashTag}` puts it in the tag set's slot, so one script moves them over.
 */
const purgingKey = (hashTag: string, tag: string) => `shop.purging.{${hashTag}}.${tag}`;

// One atomic step per script call: a key the web tier adds to a set cannot slip between
// reading the members and unlinking the set. UNLINK frees memory off the main thread.
// A Lua function of the tag sets' keys, so that CacheUpdate can run it in a script of its own.
export const PURGE_TAGS_LUA = `
local function purge_tags(keys)
  local n = 0
  for k = 1, #keys do
    local members = redis.call('SMEMBERS', keys[k])
    local m = #members
    for i = 1, m, 1000 do
      redis.call('UNLINK', unpack(members, i, math.min(i + 999, m)))
    end
    n = n + m
  end
  for i = 1, #keys, 1000 do
    redis.call('UNLINK', unpack(keys, i, math.min(i + 999, #keys)))
  end
  return n
end
`;
const PURGE_TAGS_SCRIPT = `${PURGE_TAGS_LUA} return purge_tags(KEYS)`;

// A cluster: in one step in the tag set's slot, its members move to the purge's holding set
// (KEYS[2], same slot; its expiry raised to the set's, never lowered), and the set is gone. The
// reply is every member held, those an interrupted purge left there too.
const CLAIM_SCRIPT = `
local members = redis.call('SMEMBERS', KEYS[1])
local m = #members
if m > 0 then
  local ttl = redis.call('TTL', KEYS[1])
  local held = redis.call('TTL', KEYS[2])
  for i = 1, m, 1000 do
    redis.call('SADD', KEYS[2], unpack(members, i, math.min(i + 999, m)))
  end
  redis.call('UNLINK', KEYS[1])
  if ttl > 0 and held ~= -1 and held < ttl then redis.call('EXPIRE', KEYS[2], ttl) end
end
return redis.call('SMEMBERS', KEYS[2])
`;

/** Tag sets per script call: bounded, so one call never holds Redis for long. */
export const TAGS_PER_CALL = 1000;

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
   * them together. One script per set moves its members to a holding set in its slot; they are
   * unlinked grouped by slot; then exactly those are removed from the holding set (Redis drops
   * it when empty). A fill meanwhile adds its key to the tag set anew, where only the next purge
   * removes it: no purge takes back a membership it did not unlink. A crash half-way leaves the
   * rest in the holding set, for the redelivered purge of the same tags.
   */
  private async purgeAcrossSlots(tags: string[]): Promise<number> {
    const cluster = this.redis as Cluster;
    const sets = tags.map((tag) => ({
      key: tagKey(tag),
      held: keyInSlotOf(cluster, tagKey(tag), (hashTag) => purgingKey(hashTag, tag)),
      members: [] as string[],
    }));
    // No WAIT: a claim a failover loses leaves the tag set whole, which is safe to purge again.
    const claimed = await execOnNodes(
      cluster,
      sets.map((set) => ({
        key: set.key,
        add: (p) => p.eval(CLAIM_SCRIPT, 2, set.key, set.held),
      })),
      { replicated: false },
    );
    sets.forEach((set, i) => (set.members = claimed[i] as string[]));
    const members = [...new Set(sets.flatMap((set) => set.members))];
    // Members are the web tier's full key names; the client adds REDIS_KEY_PREFIX to every key
    // it sends, so strip it (a member outside the prefix is not ours to reach; it has its TTL).
    const prefix = this.redis.options.keyPrefix ?? '';
    const unprefixed = members.map((m) => (m.startsWith(prefix) ? m.slice(prefix.length) : null));
    const ours = unprefixed.filter((m): m is string => m !== null);
    const unlinks = groupBySlot(this.redis, ours, (k) => k).flatMap((group) =>
      chunks(group).map((keys) => ({ key: keys[0], add: (p: Pipeline) => p.unlink(...keys) })),
    );
    if (unlinks.length > 0) await execOnNodes(cluster, unlinks, { replicated: true });
    const removals = sets.flatMap(({ held, members: of }) =>
      chunks(of).map((keys) => ({ key: held, add: (p: Pipeline) => p.srem(held, ...keys) })),
    );
    if (removals.length > 0) await execOnNodes(cluster, removals, { replicated: true });
    return members.length;
  }
}

type Pipeline = ReturnType<Cluster['pipeline']>;

/** Items a command at a time (CHUNK each). */
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function sumReplies(results: [Error | null, unknown][] | null): number {
  let keys = 0;
  for (const [error, count] of results ?? []) {
    if (error) throw error;
    keys += Number(count);
  }
  return keys;
}
