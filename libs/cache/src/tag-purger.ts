import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { tagKey } from './cache-keys';
import { REDIS_CLIENT } from '@invalidator/redis';

// One atomic step per tag: a key the web tier adds to the set cannot slip between reading
// the members and unlinking the set. UNLINK frees memory off the main thread.
const PURGE_TAG_SCRIPT = `
local members = redis.call('SMEMBERS', KEYS[1])
local n = #members
for i = 1, n, 1000 do
  redis.call('UNLINK', unpack(members, i, math.min(i + 999, n)))
end
redis.call('UNLINK', KEYS[1])
return n
`;

export interface PurgeResult {
  tags: number;
  keys: number;
}

@Injectable()
export class TagPurger {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /** Removes every tag set and the keys in it; idempotent, one round trip for all tags. */
  async purge(tags: string[]): Promise<PurgeResult> {
    if (tags.length === 0) return { tags: 0, keys: 0 };
    const pipeline = this.redis.pipeline();
    for (const tag of tags) pipeline.eval(PURGE_TAG_SCRIPT, 1, tagKey(tag));
    const results = (await pipeline.exec()) ?? [];
    let keys = 0;
    for (const [error, count] of results) {
      if (error) throw error;
      keys += Number(count);
    }
    return { tags: tags.length, keys };
  }
}
