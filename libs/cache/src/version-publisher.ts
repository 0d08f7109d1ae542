import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS_CLIENT } from '@invalidator/redis';
import { GLOBAL_VERSION_KEY, versionKey, versionValue } from './cache-keys';

export interface PublishedVersion {
  dataType: string;
  version: bigint;
  hash: string;
  updatedAt: Date;
}

// Compare-and-set: a key is written only when the new version is higher than the stored one,
// so a late writer (a stalled process, the fallback path) can never move Redis backwards.
// The global string goes with the `global` version; it is also written when it is missing
// (a failover lost it) and the stored `global` version is the one it derives from.
const PUBLISH_SCRIPT = `
local n = tonumber(ARGV[1])
local globalWritten = false
for i = 1, n do
  local version = tonumber(ARGV[2 * i])
  local current = redis.call('GET', KEYS[i])
  if (not current) or tonumber(cjson.decode(current).version) < version then
    redis.call('SET', KEYS[i], ARGV[2 * i + 1])
    if ARGV[2 * n + 2] == tostring(i) then globalWritten = true end
  end
end
local gi = tonumber(ARGV[2 * n + 2])
if (not globalWritten) and gi > 0 and redis.call('EXISTS', KEYS[n + 1]) == 0 then
  local stored = redis.call('GET', KEYS[gi])
  if stored and tonumber(cjson.decode(stored).version) == tonumber(ARGV[2 * gi]) then
    globalWritten = true
  end
end
if globalWritten then redis.call('SET', KEYS[n + 1], ARGV[2 * n + 3]) end
return globalWritten and 1 or 0
`;

@Injectable()
export class VersionPublisher {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /** Writes `shop.version.{type}` for each version and, with `global`, `inertia.data.version`. */
  async publish(versions: PublishedVersion[], globalVersion: string): Promise<void> {
    if (versions.length === 0) return;
    const globalIndex = versions.findIndex((v) => v.dataType === 'global') + 1;
    const keys = [...versions.map((v) => versionKey(v.dataType)), GLOBAL_VERSION_KEY];
    const args = [String(versions.length)];
    for (const v of versions) {
      args.push(v.version.toString(), versionValue(v));
    }
    args.push(String(globalIndex), globalVersion);
    await this.redis.eval(PUBLISH_SCRIPT, keys.length, ...keys, ...args);
  }
}
