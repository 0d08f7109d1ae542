import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import { parseVersion, tagKey, versionKey } from './contract-keys';
import type { RedisLike } from './version-cache';

// One step on one server: the value, its tag sets and their expiry are written only while
// every noted version is still the one in Redis. The service publishes versions before it
// purges, so a fill that read the source before a change either lands before the bump (and the
// purge that follows removes it) or finds the version moved and is refused.
// KEYS: value key, n version keys, m tag sets. ARGV: n, m, check, ttl, value, member, n noted.
const STORE_SCRIPT = `
local n = tonumber(ARGV[1])
local m = tonumber(ARGV[2])
if ARGV[3] == '1' then
  for i = 1, n do
    local current = redis.call('GET', KEYS[1 + i])
    local version = 0
    if current then version = tonumber(cjson.decode(current).version) or 0 end
    if version ~= tonumber(ARGV[6 + i]) then return 0 end
  end
end
local ttl = tonumber(ARGV[4])
redis.call('SET', KEYS[1], ARGV[5], 'EX', ttl)
for j = 1, m do
  local tag = KEYS[1 + n + j]
  redis.call('SADD', tag, ARGV[6])
  if redis.call('TTL', tag) < ttl then redis.call('EXPIRE', tag, ttl) end
end
return 1
`;

// A tag set on a cluster, on its own (its slot is not the value's).
const TAG_SCRIPT = `
local ttl = tonumber(ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
`;

// A cluster fill's value is written for a few seconds first, and given its TTL only once it is
// in its tag sets and its versions re-checked: a value whose later step failed and could not be
// taken back is gone by then, tagged or not. Only while the stored bytes are still this fill's.
const CONFIRM_SCRIPT = `
if redis.sha1hex(redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
return redis.call('EXPIRE', KEYS[1], ARGV[2])
`;

/** Seconds a cluster fill's value lives until it is confirmed (its TTL when shorter). */
export const UNCONFIRMED_TTL_S = 5;

export interface StoreRequest {
  key: string;
  bytes: Buffer;
  ttl: number;
  tags: string[];
  noted: Record<string, number>;
  check: boolean;
}

/** Writes a fill; answers false when the noted versions moved (nothing is left stored). */
export async function storeFill(redis: RedisLike, request: StoreRequest): Promise<boolean> {
  const prefix = redis.options.keyPrefix ?? '';
  const member = `${prefix}${request.key}`;
  const types = Object.keys(request.noted);
  if (redis instanceof Cluster) return storeAcrossSlots(redis, request, member, types);
  const keys = [request.key, ...types.map(versionKey), ...request.tags.map(tagKey)];
  const args: (string | Buffer | number)[] = [
    types.length,
    request.tags.length,
    request.check ? '1' : '0',
    request.ttl,
    request.bytes,
    member,
    ...types.map((t) => request.noted[t]),
  ];
  const stored = await redis.eval(STORE_SCRIPT, keys.length, ...keys, ...args);
  return Number(stored) === 1;
}

/**
 * A cluster cannot run one script over keys in different slots: check, write the value (for
 * UNCONFIRMED_TTL_S) and its tags, check again, then give the value its TTL. A value is in its
 * tag sets before the second check, so a purge after it finds it; one that moved before the
 * second check sees it removed here (it was readable for that round trip only). A step that
 * fails after the write (failover, CLUSTERDOWN, timeout) takes the value back, and if that fails
 * too the value expires unconfirmed: a stored value is in its tag sets, or soon gone.
 */
async function storeAcrossSlots(
  redis: Cluster,
  request: StoreRequest,
  member: string,
  types: string[],
): Promise<boolean> {
  const unchanged = async () => {
    if (!request.check) return true;
    const values = await Promise.all(types.map((t) => redis.get(versionKey(t))));
    return types.every((t, i) => parseVersion(values[i]) === request.noted[t]);
  };
  if (!(await unchanged())) return false;
  const unconfirmed = Math.min(request.ttl, UNCONFIRMED_TTL_S);
  try {
    await redis.set(request.key, request.bytes, 'EX', unconfirmed);
    await Promise.all(
      request.tags.map((tag) => redis.eval(TAG_SCRIPT, 1, tagKey(tag), member, request.ttl)),
    );
    if (!(await unchanged())) {
      await redis.unlink(request.key);
      return false;
    }
    if (request.ttl > unconfirmed) {
      const digest = createHash('sha1').update(request.bytes).digest('hex');
      await redis.eval(CONFIRM_SCRIPT, 1, request.key, digest, request.ttl);
    }
    return true;
  } catch (error) {
    await redis.unlink(request.key).catch(() => undefined);
    throw error;
  }
}
