import { Inject, Injectable } from '@nestjs/common';
import { tagKey } from '@invalidator/client';
import { REDIS_CLIENT, RedisClient, isCluster } from '@invalidator/redis';
import { PURGE_TAGS_LUA, PurgeResult, TAGS_PER_CALL, TagPurger } from './tag-purger';
import {
  PUBLISH_VERSIONS_LUA,
  PublishedVersion,
  VersionPublisher,
  announcement,
  publishArguments,
} from './version-publisher';

/** A step of the cache update, named as the saga's stages name it. */
export type CacheStep = 'publish' | 'purge' | 'announce';

// The three steps in one script: the versions (their compare-and-set), then the tags' keys,
// then the announcement; an error in a step ends the script before the next one. KEYS: the
// version keys and the global string's key, then the tag sets; ARGV[1]: how many of KEYS are
// the versions', ARGV[2]: the channel, ARGV[3]: the message, then the versions' arguments.
const UPDATE_SCRIPT = `${PUBLISH_VERSIONS_LUA}${PURGE_TAGS_LUA}
local nv = tonumber(ARGV[1])
publish_versions({unpack(KEYS, 1, nv)}, {unpack(ARGV, 4)})
local purged = 0
if #KEYS > nv then purged = purge_tags({unpack(KEYS, nv + 1)}) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return purged
`;

/**
 * The saga's Redis steps in their order: versions → purge → announce. On one Redis server with
 * at most TAGS_PER_CALL tags, one script does all three in one round trip (the order holds
 * inside it, and Redis runs nothing between them); on a Cluster, whose keys are in other
 * slots, or with more tags, the three steps one after another.
 */
@Injectable()
export class CacheUpdate {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly publisher: VersionPublisher,
    private readonly purger: TagPurger,
  ) {}

  /** `done` hears each step as it ends (in one script, the three at its end). */
  async apply(
    versions: PublishedVersion[],
    globalVersion: string,
    tags: string[],
    done: (step: CacheStep) => void,
  ): Promise<PurgeResult> {
    if (versions.length === 0 || isCluster(this.redis) || tags.length > TAGS_PER_CALL) {
      await this.publisher.publish(versions, globalVersion);
      done('publish');
      const purged = await this.purger.purge(tags);
      done('purge');
      await this.publisher.announce(versions, globalVersion);
      done('announce');
      return purged;
    }
    const { keys, args } = publishArguments(versions, globalVersion);
    const { channel, payload } = announcement(this.redis, versions, globalVersion);
    const tagKeys = tags.map(tagKey);
    const keysPurged = await this.redis.eval(
      UPDATE_SCRIPT,
      keys.length + tagKeys.length,
      ...keys,
      ...tagKeys,
      String(keys.length),
      channel,
      payload,
      ...args,
    );
    for (const step of ['publish', 'purge', 'announce'] as const) done(step);
    return { tags: tags.length, keys: Number(keysPurged) };
  }
}
