// The package's own example: a web server's read path against a running stack.
// REDIS_URL (default redis://127.0.0.1:6379/0) and REDIS_KEY_PREFIX as the service uses them.
const Redis = require('ioredis');
const { Registry } = require('prom-client');
const { CacheClient } = require('@invalidator/client');

async function main() {
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0', {
    keyPrefix: process.env.REDIS_KEY_PREFIX || '',
  });
  const registry = new Registry();
  const cache = await CacheClient.connect({ redis, registry });
  let fills = 0;
  const loadProduct = async () => {
    fills += 1;
    return { id: '123', name: 'Green tea', price: 4.5 };
  };
  try {
    const key = await cache.key('products', 'page', 123);
    const options = { tags: ['product:123', 'products'], ttl: 60, types: ['products'] };
    const first = await cache.remember(key, options, loadProduct);
    const second = await cache.remember(key, options, loadProduct);
    const tagged = await redis.sismember(
      'shop.tag.product:123',
      `${redis.options.keyPrefix}${key}`,
    );
    console.log(
      JSON.stringify({
        key,
        first,
        second,
        fills,
        tagged: tagged === 1,
        stats: cache.stats(),
        versions: (await cache.versions()).versions,
      }),
    );
    console.log(
      (await registry.metrics())
        .split('\n')
        .filter((l) => l.startsWith('cache_client_'))
        .join('\n'),
    );
  } finally {
    await cache.close();
    await redis.quit();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
