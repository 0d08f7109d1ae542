import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, RedisClient } from '@invalidator/redis';

/** One key per client and guarded secret: a single-key script, so any Redis Cluster slot. */
export const lockoutKey = (client: string) => `lock:admin-token.${client}`;

// Takes one attempt of the client's fixed window (started by its first attempt), or, when all
// are taken, answers the milliseconds left: taking before the token is judged bounds the
// guesses of concurrent requests to every instance together. GET and SET only (no INCR), so
// the documented ACL of the service's user suffices.
const TAKE_SCRIPT = `
local taken = tonumber(redis.call('GET', KEYS[1]) or '0')
if taken >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then return left end
  redis.call('SET', KEYS[1], taken, 'PX', ARGV[2])
  return tonumber(ARGV[2])
end
if taken == 0 then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], taken + 1, 'KEEPTTL')
end
return 0
`;

const GIVE_BACK_SCRIPT = `
local taken = tonumber(redis.call('GET', KEYS[1]) or '0')
if taken > 1 then
  redis.call('SET', KEYS[1], taken - 1, 'KEEPTTL')
elseif taken == 1 then
  redis.call('DEL', KEYS[1])
end
return 0
`;

/** Attempts at a secret per client, counted in Redis: shared by every instance of the service. */
@Injectable()
export class LockoutCounter {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /**
   * Takes one of the client's `attempts` in its window of `windowMs`; 0 when taken, else the
   * milliseconds until the window ends (nothing taken).
   */
  async take(client: string, attempts: number, windowMs: number): Promise<number> {
    return Number(await this.redis.eval(TAKE_SCRIPT, 1, lockoutKey(client), attempts, windowMs));
  }

  /** Returns an attempt that turned out right: only refusals use up the window. */
  async giveBack(client: string): Promise<void> {
    await this.redis.eval(GIVE_BACK_SCRIPT, 1, lockoutKey(client));
  }
}
