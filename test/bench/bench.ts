/**
 * `npm run bench`: throughput and latency of the real service on the real stack.
 *  1. drain: a backlog of N events over 6 partitions, time from the service being ready to all
 *     of them applied;
 *  2. latency: single events published one after another, time from send to the new version
 *     being visible in Redis (what a web server would see).
 */
import { ServiceProcess } from '../support/service-process';
import { productUpdated } from '../support/events';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20000);
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
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
