/**
 * `npm run bench`: throughput and latency of the real service on the real stack.
 *  1. drain: a backlog of N events over 6 partitions, time from the service being ready to all
 *     of them applied;
 *  2. latency: single events published one after another, time from send to the new version
 *     being visible in Redis (what a web server would see);
 *  3. scale-out: the same load over 12 partitions drained by 1, 2 and 3 instances of one
 *     consumer group (each run a fresh world), timed from the first send once all are ready.
 */
import { ServiceProcess } from '../support/service-process';
import { productUpdated } from '../support/events';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20000);
const SCALE_EVENTS = Number(process.env.BENCH_SCALE_EVENTS ?? 40000);
const SCALE_PARTITIONS = 12;
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** The backlog is published before the service starts, so only consumption is timed. */
async function drain(world: World) {
  const events = Array.from({ length: EVENTS }, (_, i) =>
    productUpdated({ productId: `p${i % 5000}`, categoryIds: [(i % 40) + 1] }),
  );
  await world.publish(events);
  const service = await ServiceProcess.start(world.env, { LOG_LEVEL: 'warn' });
  const started = performance.now();
  await waitFor('all events applied', async () => (await world.inboxCount()) >= EVENTS, 600000, 50);
  const seconds = (performance.now() - started) / 1000;
  const sagas = (await world.audit()).filter((a) => a.data_type === 'global').length;
  return {
    service,
    events: EVENTS,
    seconds,
    eventsPerSecond: Math.round(EVENTS / seconds),
    sagas,
    meanBatch: Math.round(EVENTS / sagas),
  };
}

async function latency(world: World) {
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const before = Number(
      JSON.parse((await world.redis.get('shop.version.products')) ?? '{"version":0}').version,
    );
    const started = performance.now();
    await world.publish([productUpdated({ productId: `lat${i}` })]);
    await waitFor(
      'the new version in Redis',
      async () =>
        Number(JSON.parse((await world.redis.get('shop.version.products')) ?? '{}').version) >
        before,
      30000,
      2,
    );
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return {
    samples: samples.length,
    p50Ms: Math.round(percentile(samples, 50)),
    p95Ms: Math.round(percentile(samples, 95)),
    p99Ms: Math.round(percentile(samples, 99)),
    maxMs: Math.round(samples[samples.length - 1]),
  };
}

/**
 * Instances first (all ready, the group settled), then the backlog: a backlog published before
 * would be drained by the first instance up before the others have joined.
 */
async function scaleOut(instances: number) {
  const world = await World.create(`scale${instances}`, SCALE_PARTITIONS);
  const services: ServiceProcess[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      services.push(await ServiceProcess.start(world.env, { LOG_LEVEL: 'warn' }));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const events = Array.from({ length: SCALE_EVENTS }, (_, i) =>
      productUpdated({ productId: `p${i % 5000}`, categoryIds: [(i % 40) + 1] }),
    );
    const started = performance.now();
    await world.publish(events);
    const published = (performance.now() - started) / 1000;
    await waitFor(
      'all events applied',
      async () => (await world.inboxCount()) >= SCALE_EVENTS,
      600000,
      50,
    );
    const seconds = (performance.now() - started) / 1000;
    const sagas = (await world.audit()).filter((a) => a.data_type === 'global').length;
    return {
      instances,
      seconds,
      published,
      sagas,
      eventsPerSecond: Math.round(SCALE_EVENTS / seconds),
    };
  } finally {
    await Promise.all(services.map((s) => s.stop()));
    await world.close();
  }
}

async function main() {
  const world = await World.create('bench', 6);
  let service: ServiceProcess | undefined;
  try {
    const d = await drain(world);
    service = d.service;
    console.log(
      `drain: ${d.events} events (6 partitions, 1 instance) in ${d.seconds.toFixed(2)} s = ` +
        `${d.eventsPerSecond} events/s (${d.sagas} sagas, ${d.meanBatch} events per saga)`,
    );
    const l = await latency(world);
    console.log(
      `latency (publish -> version visible in Redis, ${l.samples} single events): ` +
        `p50 ${l.p50Ms} ms, p95 ${l.p95Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms`,
    );
  } finally {
    await service?.stop();
    await world.close();
  }
  const one = await scaleOut(1);
  for (const run of [one, await scaleOut(2), await scaleOut(3)]) {
    console.log(
      `scale-out: ${SCALE_EVENTS} events over ${SCALE_PARTITIONS} partitions, ` +
        `${run.instances} instance(s): ${run.seconds.toFixed(2)} s from the first send ` +
        `(published in ${run.published.toFixed(2)} s) = ${run.eventsPerSecond} events/s ` +
        `(x${(run.eventsPerSecond / one.eventsPerSecond).toFixed(2)}, ${run.sagas} sagas)`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
