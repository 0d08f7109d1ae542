// The demo: start the built service, publish a few sample events like a shop service would,
// and show the versions before and after and the cache keys purged. Run by `npm run demo`.
const { spawn } = require('node:child_process');
const { clearTimeout } = require('node:timers');
const { randomUUID } = require('node:crypto');
const { join } = require('node:path');
const Redis = require('ioredis');
const { Kafka, Partitioners, logLevel } = require('kafkajs');

const port = Number(process.env.DEMO_HTTP_PORT || 3000);
const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const productTopic = process.env.KAFKA_TOPIC_PRODUCT || 'shop.product-updated';
const categoryTopic = process.env.KAFKA_TOPIC_CATEGORY || 'shop.category-updated';
const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0', {
  keyPrefix: process.env.REDIS_KEY_PREFIX || '',
});
const entrypoints = require('./entrypoints.json');
const main = join(__dirname, '..', entrypoints.invalidator);
const shopMain = join(__dirname, '..', entrypoints['example-shop']);
const shopPort = Number(process.env.DEMO_SHOP_PORT || 3100);
const prefix = process.env.REDIS_KEY_PREFIX || '';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A child's output, kept rather than printed: a newcomer's screen shows the demo's own lines;
 * the last lines of each child's log are printed only when something went wrong.
 */
const LOG_TAIL_LINES = 60;
const captured = [];
function capture(name, child) {
  const log = { name, lines: [], partial: '' };
  const take = (chunk) => {
    const text = log.partial + chunk.toString();
    const lines = text.split('\n');
    log.partial = lines.pop();
    log.lines.push(...lines);
    if (log.lines.length > LOG_TAIL_LINES) log.lines.splice(0, log.lines.length - LOG_TAIL_LINES);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  captured.push(log);
  return child;
}
function printLogTails() {
  for (const log of captured) {
    const lines = [...log.lines, log.partial].filter(Boolean);
    if (lines.length === 0) continue;
    console.error(`\ndemo: the last ${lines.length} lines of the ${log.name}'s log:`);
    for (const line of lines) console.error(`  ${line}`);
  }
}
const versions = async () => (await fetch(`http://127.0.0.1:${port}/versions`)).json();

async function until(what, probe, seconds = 60) {
  for (let i = 0; i < seconds * 5; i++) {
    try {
      if (await probe()) return;
    } catch (error) {
      // Not yet, unless waiting longer cannot help.
      if (error.message.startsWith('demo:')) throw error;
    }
    await sleep(200);
  }
  throw new Error(`demo: timed out waiting for ${what}`);
}

function table(before, after) {
  const rows = Object.keys(after.versions).map((type) => ({
    type,
    before: before.versions[type]?.version ?? 0,
    after: after.versions[type].version,
  }));
  console.table(rows);
  console.log(`global version: ${before.global} -> ${after.global}`);
}

async function portInUse(at = port) {
  try {
    await fetch(`http://127.0.0.1:${at}/`);
    return true;
  } catch {
    return false;
  }
}

async function run() {
  if (await portInUse()) {
    throw new Error(`demo: port ${port} is in use; stop what runs there or set DEMO_HTTP_PORT`);
  }
  if (await portInUse(shopPort)) {
    throw new Error(`demo: port ${shopPort} is in use; stop what runs there or set DEMO_SHOP_PORT`);
  }
  const service = capture(
    'service',
    spawn(process.execPath, [main], {
      env: { ...process.env, HTTP_PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL || 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const exited = new Promise((resolve) => service.on('exit', resolve));
  try {
    console.log(`demo: starting the service on port ${port}`);
    await until('the service to be ready', async () => {
      if (service.exitCode !== null)
        throw new Error(`demo: the service exited (${service.exitCode})`);
      return (await fetch(`http://127.0.0.1:${port}/health/ready`)).ok;
    });
    console.log('demo: the service is ready (its consumer joined its group)');

    const cached = {
      'shop.tag.products': ['demo:page:products'],
      'shop.tag.product:123': ['demo:page:product:123'],
      'shop.tag.category:7': ['demo:page:category:7'],
      'shop.tag.category:8': ['demo:page:category:8'],
    };
    for (const [tag, keys] of Object.entries(cached)) {
      for (const key of keys) await redis.set(key, 'cached html');
      await redis.sadd(tag, ...keys.map((k) => `${process.env.REDIS_KEY_PREFIX || ''}${k}`));
    }
    const before = await versions();

    const kafka = new Kafka({ clientId: 'invalidator-demo', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const now = new Date().toISOString();
    const product = {
      eventId: randomUUID(),
      type: 'ProductUpdated',
      action: 'updated',
      productId: '123',
      categoryIds: ['7'],
      occurredAt: now,
    };
    const category = {
      eventId: randomUUID(),
      type: 'CategoryUpdated',
      action: 'updated',
      categoryId: '7',
      occurredAt: now,
    };
    console.log('demo: publishing', JSON.stringify(product));
    await producer.send({
      topic: productTopic,
      messages: [{ key: '123', value: JSON.stringify(product) }],
    });
    console.log('demo: publishing', JSON.stringify(category));
    await producer.send({
      topic: categoryTopic,
      messages: [{ key: '7', value: JSON.stringify(category) }],
    });
    await producer.disconnect();

    let after;
    await until('both events to be applied', async () => {
      after = await versions();
      return (
        after.versions.categories.version > before.versions.categories.version &&
        after.versions.products.version >= before.versions.products.version + 2
      );
    });
    table(before, after);
    const keys = Object.values(cached).flat();
    const left = await Promise.all(keys.map((k) => redis.exists(k)));
    console.log('purged:', keys.filter((_, i) => left[i] === 0).join(', ') || '(none)');
    console.log('kept:  ', keys.filter((_, i) => left[i] === 1).join(', ') || '(none)');
    await redis.del(...keys, 'shop.tag.category:8');
    await shopLoop();
  } finally {
    service.kill('SIGTERM');
    await exited;
    redis.disconnect();
    console.log('demo: service stopped');
  }
}

/** Resolves with the next announcement whose `products` version is above `above`. */
function productsAnnouncedAbove(subscriber, above) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('demo: no announcement within 60 s')), 60000);
    const onMessage = (_channel, message) => {
      const { versions } = JSON.parse(message);
      if ((versions.products ?? 0) > above) {
        clearTimeout(timer);
        subscriber.off('message', onMessage);
        resolve(versions.products);
      }
    };
    subscriber.on('message', onMessage);
  });
}

/** The web tier's side: the example shop changes a product and reads its page fresh. */
async function shopLoop() {
  const shopUrl = `http://127.0.0.1:${shopPort}`;
  const shop = capture(
    'example shop',
    spawn(process.execPath, [shopMain], {
      env: { ...process.env, SHOP_HTTP_PORT: String(shopPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const shopExited = new Promise((resolve) => shop.on('exit', resolve));
  const subscriber = redis.duplicate();
  await subscriber.subscribe(`${prefix}shop.versions.changed`);
  const put = (path, body) =>
    fetch(`${shopUrl}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const page = async () => {
    const res = await fetch(`${shopUrl}/products/demo-123`);
    return { product: await res.json(), version: res.headers.get('x-data-version') };
  };
  const change = async (what, path, body) => {
    const before = (await versions()).versions.products?.version ?? 0;
    const announced = productsAnnouncedAbove(subscriber, before);
    await put(path, body);
    const now = await announced;
    console.log(`shop: ${what}; outbox -> Kafka -> saga; products version ${before} -> ${now}`);
  };
  try {
    console.log(`\ndemo: starting the example shop on port ${shopPort}`);
    await until('the shop to answer', async () => {
      if (shop.exitCode !== null) throw new Error(`demo: the shop exited (${shop.exitCode})`);
      return (await fetch(`${shopUrl}/metrics`)).ok;
    });
    await change('category demo-7 saved', '/categories/demo-7', { name: 'Tea' });
    await change('product demo-123 saved at 4.50', '/products/demo-123', {
      name: 'Green tea',
      price: 4.5,
      categoryId: 'demo-7',
    });
    let read = await page();
    console.log(`shop: GET /products/demo-123 -> price ${read.product.price} (miss, filled)`);
    read = await page();
    console.log(`shop: GET /products/demo-123 -> price ${read.product.price} (hit)`);
    await change('product demo-123 changed to 5.00', '/products/demo-123', {
      name: 'Green tea',
      price: 5,
      categoryId: 'demo-7',
    });
    read = await page();
    console.log(
      `shop: GET /products/demo-123 -> price ${read.product.price} (fresh on the next read; ` +
        `inertia.data.version ${read.version})`,
    );
    const metrics = await (await fetch(`${shopUrl}/metrics`)).text();
    console.log(
      metrics
        .split('\n')
        .filter((l) => l.startsWith('cache_client_'))
        .join('\n'),
    );
  } finally {
    shop.kill('SIGTERM');
    await shopExited;
    await subscriber.quit();
    console.log('demo: shop stopped');
  }
}

run().catch((error) => {
  console.error(error.message);
  printLogTails();
  process.exit(1);
});
