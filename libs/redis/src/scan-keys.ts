import Redis from 'ioredis';

/** SCAN patterns are not prefixed by ioredis: add the prefix, and strip it from the results. */
export async function scanKeys(
  redis: Redis,
  keyPrefix: string,
  pattern: string,
): Promise<string[]> {
  const found: string[] = [];
  const stream = redis.scanStream({ match: `${keyPrefix}${pattern}`, count: 500 });
  for await (const batch of stream as AsyncIterable<string[]>) {
    for (const key of batch) found.push(key.slice(keyPrefix.length));
  }
  return [...new Set(found)];
}
