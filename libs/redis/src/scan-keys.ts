import { RedisClient, masters } from './redis-topology';

/**
 * SCAN patterns are not prefixed by ioredis: add the prefix, and strip it from the results.
 * A cluster spreads keys over its masters: scan each of them.
 */
export async function scanKeys(
  redis: RedisClient,
  keyPrefix: string,
  pattern: string,
): Promise<string[]> {
  const found: string[] = [];
  for (const server of masters(redis)) {
    const stream = server.scanStream({ match: `${keyPrefix}${pattern}`, count: 500 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      for (const key of batch) found.push(key.slice(keyPrefix.length));
    }
  }
  return [...new Set(found)];
}
