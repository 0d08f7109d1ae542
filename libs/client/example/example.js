// The package's own example: a web server's read path against a running stack.
// REDIS_URL (default redis://127.0.0.1:6379/0; rediss:// for TLS) and REDIS_KEY_PREFIX as the
// service uses them; the web tier's own Redis user in REDIS_USERNAME and REDIS_PASSWORD (or
// REDIS_PASSWORD_FILE), and REDIS_TLS_CA_FILE for a server certificate of a private CA.
const { readFileSync } = require('node:fs');
const Redis = require('ioredis');
const { Registry } = require('prom-client');
const { CacheClient } = require('@invalidator/client');

function redisSecurity(env) {
  const password = env.REDIS_PASSWORD_FILE
    ? readFileSync(env.REDIS_PASSWORD_FILE, 'utf8').replace(/\r?\n$/, '')
    : env.REDIS_PASSWORD;
  return {
    ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}),
    ...(password ? { password } : {}),
    ...(env.REDIS_TLS_CA_FILE ? { tls: { ca: readFileSync(env.REDIS_TLS_CA_FILE) } } : {}),
  };
}

async function main() {
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0', {
    keyPrefix: process.env.REDIS_KEY_PREFIX || '',
    ...redisSecurity(process.env),
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
