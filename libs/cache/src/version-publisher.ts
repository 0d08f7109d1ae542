import { Inject, Injectable } from '@nestjs/common';
import { Cluster } from 'ioredis';
import {
  GLOBAL_VERSION_KEY,
  VERSIONS_CHANNEL,
  versionKey,
  versionValue,
} from '@invalidator/client';
import { REDIS_CLIENT, RedisClient, execOnNodes, isCluster } from '@invalidator/redis';

export interface PublishedVersion {
  dataType: string;
  version: bigint;
  hash: string;
  updatedAt: Date;
}

// Compare-and-set: a key is written only when the new version is higher than the stored one,
// so a late writer (a stalled process, the fallback path) can never move Redis backwards.
// The global string goes with the `global` version; it is also written when it is missing
// (a failover lost it) and the stored `global` version is the one it derives from. A Lua
// function of its keys and arguments, so that CacheUpdate can run it in a script of its own.
export const PUBLISH_VERSIONS_LUA = `
local function publish_versions(keys, argv)
  local n = tonumber(argv[1])
  local globalWritten = false
  for i = 1, n do
    local version = tonumber(argv[2 * i])
    local current = redis.call('GET', keys[i])
    if (not current) or tonumber(cjson.decode(current).version) < version then
      redis.call('SET', keys[i], argv[2 * i + 1])
      if argv[2 * n + 2] == tostring(i) then globalWritten = true end
    end
  end
  local gi = tonumber(argv[2 * n + 2])
  if (not globalWritten) and gi > 0 and redis.call('EXISTS', keys[n + 1]) == 0 then
    local stored = redis.call('GET', keys[gi])
    if stored and tonumber(cjson.decode(stored).version) == tonumber(argv[2 * gi]) then
      globalWritten = true
    end
  end
  if globalWritten then redis.call('SET', keys[n + 1], argv[2 * n + 3]) end
  return globalWritten and 1 or 0
end
`;
const PUBLISH_SCRIPT = `${PUBLISH_VERSIONS_LUA} return publish_versions(KEYS, ARGV)`;

// On a cluster every key is in a slot of its own: the same compare-and-set, one key per call.
// Answers 1 written, 2 already at this version, 0 Redis holds a newer one.
const VERSION_CAS_SCRIPT = `
local current = redis.call('GET', KEYS[1])
local stored = current and tonumber(cjson.decode(current).version)
if (not stored) or stored < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
if stored == tonumber(ARGV[1]) then return 2 end
return 0
`;

// The global string ("{global version}.{digest}") by its own compare-and-set on the global
// version it starts with: written when missing or older, so it never goes backwards either.
const GLOBAL_CAS_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if (not current) or (tonumber(string.match(current, '^(%d+)')) or -1) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** PUBLISH_VERSIONS_LUA's keys and arguments for these versions. */
export function publishArguments(versions: PublishedVersion[], globalVersion: string) {
  const globalIndex = versions.findIndex((v) => v.dataType === 'global') + 1;
  const keys = [...versions.map((v) => versionKey(v.dataType)), GLOBAL_VERSION_KEY];
  const args = [String(versions.length)];
  for (const v of versions) args.push(v.version.toString(), versionValue(v));
  args.push(String(globalIndex), globalVersion);
  return { keys, args };
}

/** The versions channel's message (libs/client hears it) and the channel, with the key prefix. */
export function announcement(
  redis: RedisClient,
  versions: PublishedVersion[],
  globalVersion: string,
) {
  const payload = JSON.stringify({
    versions: Object.fromEntries(versions.map((v) => [v.dataType, Number(v.version)])),
    global: globalVersion,
  });
  return { channel: `${redis.options.keyPrefix ?? ''}${VERSIONS_CHANNEL}`, payload };
}

@Injectable()
export class VersionPublisher {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /** Writes `shop.version.{type}` for each version and, with `global`, `inertia.data.version`. */
  async publish(versions: PublishedVersion[], globalVersion: string): Promise<void> {
    if (versions.length === 0) return;
    if (isCluster(this.redis)) return this.publishPerSlot(versions, globalVersion);
    const { keys, args } = publishArguments(versions, globalVersion);
    await this.redis.eval(PUBLISH_SCRIPT, keys.length, ...keys, ...args);
  }

  /**
   * Tells web servers (libs/client) that these versions are current and their tags purged, so
   * they refresh their memoized versions at once. Best effort: a lost message only means a
   * client keeps its versions for its memo interval (a few ms) before reading them again.
   */
  async announce(versions: PublishedVersion[], globalVersion: string): Promise<void> {
    if (versions.length === 0) return;
    const { channel, payload } = announcement(this.redis, versions, globalVersion);
    await this.redis.publish(channel, payload).catch(() => undefined);
  }

  /**
   * `shop.version.*` and `inertia.data.version` hash to different slots, so one script cannot
   * write them together: each key by its own compare-and-set (per-key CAS is what keeps
   * versions from going backwards), then the global string, only while the global version it
   * derives from is the one Redis holds, by its own compare-and-set on that version.
   */
  private async publishPerSlot(versions: PublishedVersion[], globalVersion: string) {
    const cluster = this.redis as Cluster;
    // Every key's compare-and-set in one pipeline per master, each followed by WAIT.
    const outcomes = await execOnNodes(
      cluster,
      versions.map((v) => ({
        key: versionKey(v.dataType),
        add: (p) =>
          p.eval(
            VERSION_CAS_SCRIPT,
            1,
            versionKey(v.dataType),
            v.version.toString(),
            versionValue(v),
          ),
      })),
      { replicated: true },
    );
    const gi = versions.findIndex((v) => v.dataType === 'global');
    if (gi < 0 || Number(outcomes[gi]) === 0) return;
    const global = versions[gi];
    await execOnNodes(
      cluster,
      [
        {
          key: GLOBAL_VERSION_KEY,
          add: (p) =>
            p.eval(
              GLOBAL_CAS_SCRIPT,
              1,
              GLOBAL_VERSION_KEY,
              global.version.toString(),
              globalVersion,
            ),
        },
      ],
      { replicated: true },
    );
  }
}
