// The demo: start the built service, publish a few sample events like a shop service would,
// and show the versions before and after and the cache keys purged. Run by `npm run demo`.
const { spawn } = require('node:child_process');
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
const main = join(__dirname, '..', require('./entrypoints.json').invalidator);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const versions = async () => (await fetch(`http://127.0.0.1:${port}/versions`)).json();

async function until(what, probe, seconds = 60) {
  for (let i = 0; i < seconds * 5; i++) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
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

async function portInUse() {
  try {
    await fetch(`http://127.0.0.1:${port}/`);
    return true;
  } catch {
    return false;
  }
}

async function run() {
  if (await portInUse()) {
    throw new Error(`demo: port ${port} is in use; stop what runs there or set DEMO_HTTP_PORT`);
  }
  const service = spawn(process.execPath, [main], {
    env: { ...process.env, HTTP_PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL || 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => service.on('exit', resolve));
  try {
    console.log(`demo: starting the service on port ${port}`);
    await until(
      'the service to be ready',
      async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).ok,
    );

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
  } finally {
    service.kill('SIGTERM');
    await exited;
    redis.disconnect();
    console.log('demo: service stopped');
  }
}

run().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
