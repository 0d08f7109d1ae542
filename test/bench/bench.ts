/**
 * `npm run bench`: the service on the real stack against the ceiling of its own Kafka client,
 * in one run, printed as one table and written as JSON (.stack/bench-results.json).
 *
 *  raw        a bare kafkajs consumer (same options) that fetches and JSON.parses the backlog;
 *  service    the service draining the same backlog (its own consumer group), 1 instance;
 *  per-event  the seed's design: one lock, one transaction, one purge per event
 *             (SAGA_MAX_EVENTS=1), on a smaller backlog;
 *  history    the same drain with 10 million events already applied (ledger rows seeded);
 *  latency    publish -> new version visible in Redis, under a steady 1,000 events/s
 *             (BENCH_LATENCY_RUNS runs, 3 by default, after BENCH_SETTLE_SECONDS unmeasured) and
 *             under half the service's measured rate; with each run the p50/p99 of every saga
 *             stage (the saga log's stages_ms), over all sagas and over the probes' own;
 *  scale-out  1, 2 and 3 instances of one group over 12 partitions (BENCH_SCALE_OUT=0: not);
 *  cdc        commit → purged for SQL UPDATEs at 100 and 1,000 rows/s through Debezium (cdc.ts;
 *             needs `npm run stack:up -- --cdc`, checked first; BENCH_CDC=0: not).
 *
 * A drain is timed from the consumer joining its group to the last saga's commit in MySQL
 * (applied_batches.applied_at), so start-up is not counted. MySQL commits come from
 * SHOW GLOBAL STATUS (Handler_commit, every commit of any engine, autocommit included) and
 * CPU from the service's process_cpu_seconds_total minus an idle start-up's.
 *
 * Profiling: SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=.stack/profiles" BENCH_QUICK=1
 * npm run bench writes the service's CPU profile (open it in Chrome DevTools).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { ServiceProcess } from '../support/service-process';
import { productUpdated } from '../support/events';
import { seedLedgerHistory } from '../support/ledger-history';
import { MYSQL_ROOT_URL, waitFor } from '../support/test-env';
import { World } from '../support/world';
import { CDC_BENCH, cdcLatency, cdcRows, requireCdcBench } from './cdc';
import { percentile } from './stats';
import { SAGA_STAGES } from '@invalidator/monitoring';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 300000);
const PER_EVENT_EVENTS = Number(process.env.BENCH_PER_EVENT_EVENTS ?? 1000);
const HISTORY_EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 10_000_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 8);
const PARTITIONS = 6;
/** BENCH_SCALE_OUT=0 leaves out the 1, 2 and 3 instance runs over 12 partitions. */
const SCALE_OUT = process.env.BENCH_SCALE_OUT !== '0';
const SCALE_EVENTS = Number(process.env.BENCH_SCALE_EVENTS ?? 40000);
const SCALE_PARTITIONS = 12;
const MAX_BYTES_PER_PARTITION = 1048576;
/** BENCH_QUICK=1: the raw ceiling and the service's drain only (for profiling runs). */
const QUICK = Boolean(process.env.BENCH_QUICK);
/** BENCH_ONLY=latency: the raw ceiling, the drain and the latency runs, nothing after them. */
const LATENCY_ONLY = process.env.BENCH_ONLY === 'latency';
const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 3);
/**
 * Seconds of the same 1,000 events/s before the latency runs, not measured: for about 3 s
 * after the drain, V8's helper threads sweep and compact its heap (measured per thread: 15-25 %
 * of a core beside the main thread's 40-48 %): runs started at once had p50 9-10 ms, later
 * ones 8.
 */
const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 4);
/**
 * Ceiling-and-drain pairs, each on a backlog of its own, back to back: the machine's speed
 * drifts by a third between runs minutes apart (the ceiling alone 189,000-361,000 in one hour),
 * so the ratio is reported for each pair and as their median. BENCH_QUICK=1: 1 by default.
 */
const DRAIN_PAIRS = Number(process.env.BENCH_DRAIN_PAIRS ?? (QUICK ? 1 : 3));
const OUT = join(__dirname, '..', '..', '.stack', 'bench-results.json');
/** BENCH_SERVICE_ENV="NAME=value ...": settings for every service the bench starts (A/B runs). */
const SERVICE_ENV = Object.fromEntries(
  (process.env.BENCH_SERVICE_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

function backlog(n: number) {
  return Array.from({ length: n }, (_, i) =>
    productUpdated({ productId: `p${i % 5000}`, categoryIds: [(i % 40) + 1] }),
  );
}

async function globalStatus(name: string): Promise<number> {
  const root = await mysql.createConnection(MYSQL_ROOT_URL);
  try {
    const [rows] = await root.query<mysql.RowDataPacket[]>('SHOW GLOBAL STATUS LIKE ?', [name]);
    return Number(rows[0].Value);
  } finally {
    await root.end();
  }
}

/** The same consumer options as the service, and only fetch + JSON.parse per message. */
async function rawCeiling(world: World, events: number) {
  const kafka = new Kafka({
    clientId: 'bench-raw',
    brokers: world.env.brokers,
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({
    groupId: `raw-${world.env.id}`,
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
    maxWaitTimeInMs: 100,
  });
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
  await consumer.connect();
  await consumer.subscribe({ topics: [world.env.topics.product], fromBeginning: true });
  let seen = 0;
  let parsedBytes = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const event = JSON.parse(message.value?.toString() ?? 'null') as { eventId: string };
          parsedBytes += event.eventId.length;
        }
        seen += batch.messages.length;
        if (seen >= events) resolve(performance.now());
      },
    });
  });
  const finishedAt = await done;
  await consumer.disconnect();
  const seconds = (finishedAt - joinedAt) / 1000;
  return { events, seconds, eventsPerSecond: Math.round(events / seconds), parsedBytes };
}

/** process_cpu_seconds_total of a service that started and joined with nothing to do. */
async function idleStartupCpu(): Promise<number> {
  const world = await World.create('bench_idle', PARTITIONS);
  try {
    const service = await ServiceProcess.start(world.env, { LOG_LEVEL: 'warn', ...SERVICE_ENV });
    await new Promise((r) => setTimeout(r, 1000));
    const cpu = await service.metric('process_cpu_seconds_total');
    await service.stop();
    return cpu;
  } finally {
    await world.close();
  }
}

/** Starts the service on a world whose backlog is published; returns it once all is applied. */
async function drain(
  world: World,
  events: number,
  extra: Record<string, string>,
  idleCpu: number,
  history = 0,
) {
  const commitsBefore = await globalStatus('Handler_commit');
  const service = await ServiceProcess.start(world.env, {
    LOG_LEVEL: 'info',
    ...SERVICE_ENV,
    ...extra,
  });
  const [joined] = service.logLines('consumer joined its group');
  await waitFor(
    'the backlog applied',
    async () => (await world.inboxCount()) >= events + history,
    900000,
    50,
  );
  const [last] = await world.query<{ at: string }>(
    'SELECT UNIX_TIMESTAMP(MAX(applied_at)) * 1000 AS at FROM applied_batches',
  );
  const seconds = (Number(last.at) - Number(joined.time)) / 1000;
  if (process.env.BENCH_DEBUG) {
    for (const saga of service.logLines('invalidation saga completed'))
      console.log(
        `saga done at +${Number(saga.time) - Number(joined.time)} ms: ${saga.events} events in ${saga.duration_ms} ms, stages ${JSON.stringify(saga.stages_ms)}`,
      );
  }
  const commits = (await globalStatus('Handler_commit')) - commitsBefore;
  const cpu = (await service.metric('process_cpu_seconds_total')) - idleCpu;
  // Each saga's events and commit time (its applied_batches share its fence token).
  const sagaRows = await world.query<{ n: string; at: string }>(
    `SELECT SUM(event_count) AS n, UNIX_TIMESTAMP(MAX(applied_at)) * 1000 AS at
     FROM applied_batches WHERE fence_token > 0 GROUP BY fence_token ORDER BY at`,
  );
  const sagas = sagaRows.length;
  // After the first saga (the JIT still cold, the first fetch): the rate a warm service holds.
  const steadyEvents = sagaRows.slice(1).reduce((sum, r) => sum + Number(r.n), 0);
  const steadySeconds = (Number(last.at) - Number(sagaRows[0]?.at ?? last.at)) / 1000;
  return {
    service,
    result: {
      events,
      seconds,
      eventsPerSecond: Math.round(events / seconds),
      steadyEventsPerSecond: steadySeconds > 0 ? Math.round(steadyEvents / steadySeconds) : 0,
      sagas,
      eventsPerSaga: Math.round(events / Math.max(1, sagas)),
      mysqlCommitsPerEvent: commits / events,
      cpuSecondsPer100k: (cpu * 100000) / events,
    },
  };
}

/**
 * History as the service itself writes it: the ledger's applied_batches up to HISTORY_EVENTS
 * and the audit of one saga per 30,000 events, a day old.
 */
async function seedHistory(world: World, events: number) {
  const seeded = await seedLedgerHistory(world, events, 86400);
  const sagas = Math.ceil(events / 30000);
  for (let i = 0; i < sagas; i += 1000) {
    const values = Array.from({ length: Math.min(1000, sagas - i) }, (_, j) => i + j);
    await world.sql.query(
      `INSERT INTO version_audit (data_type, old_version, new_version, new_hash, fence_token, actor, event_ids, created_at)
       VALUES ${values.map(() => "('history', ?, ?, SHA2(?, 256), 0, 'bench', '[]', NOW(6) - INTERVAL 1 DAY)").join(', ')}`,
      values.flatMap((v) => [v, v + 1, `h${v}`]),
    );
  }
  return seeded;
}

/**
 * A steady load at `rate` events/s for `seconds`; every 50 ms one of them is a probe
 * whose tag set holds a key. A probe's latency runs from its send to its key being gone: the
 * purge follows the version publish in the saga, so the new version was visible by then.
 */
async function latencyUnderLoad(
  world: World,
  service: ServiceProcess,
  rate: number,
  seconds = LATENCY_SECONDS,
) {
  const sagasBefore = service.logLines('invalidation saga completed').length;
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const ticks = Math.round((seconds * 1000) / tickMs);
  const pending = new Map<string, number>();
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let slowest = { ms: 0, sentAtMs: 0 };
  let polling = true;
  const poller = (async () => {
    while (polling || pending.size > 0) {
      const keys = [...pending.keys()];
      if (keys.length > 0) {
        // The world's client: on a Redis Cluster the probes' keys are in slots of their own.
        const replies = await Promise.all(keys.map((k) => world.redis.exists(k)));
        const now = performance.now();
        keys.forEach((k, i) => {
          if (replies[i] === 0) {
            const ms = now - (pending.get(k) ?? now);
            samples.push(ms);
            if (ms > slowest.ms) slowest = { ms, sentAtMs: sentAt.get(k) ?? 0 };
            pending.delete(k);
          }
        });
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const gc = watchGc();
  const started = performance.now();
  let sent = 0;
  for (let tick = 0; tick < ticks; tick++) {
    const events = backlog(perTick);
    if (tick % 5 === 0) {
      const id = `probe-${tick}`;
      await world.tag(`product:${id}`, [`page:${id}`]);
      await world.publish(events);
      pending.set(`page:${id}`, performance.now());
      sentAt.set(`page:${id}`, Date.now());
      await world.publish([productUpdated({ productId: id })]);
    } else {
      await world.publish(events);
    }
    sent += events.length;
    const wait = started + (tick + 1) * tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const achieved = Math.round(sent / ((performance.now() - started) / 1000));
  polling = false;
  await Promise.race([poller, new Promise((r) => setTimeout(r, 60000))]);
  gc.stop();
  samples.sort((a, b) => a - b);
  const sagas = service.logLines('invalidation saga completed').slice(sagasBefore);
  return {
    targetRate: rate,
    achievedRate: achieved,
    probes: samples.length,
    p50Ms: Math.round(percentile(samples, 50)),
    p95Ms: Math.round(percentile(samples, 95)),
    p99Ms: Math.round(percentile(samples, 99)),
    maxMs: Math.round(samples[samples.length - 1]),
    sagas: sagas.length,
    eventsPerSaga: Math.round(sagas.reduce((n, l) => n + Number(l.events), 0) / sagas.length),
    stages: stageFigures(sagas),
    // The sagas that purged a probe's key (only probes' products are tagged): a probe's path.
    probeStages: stageFigures(sagas.filter((l) => Number(l.invalidated_keys) > 0)),
    slowest: explainProbe(service, slowest, gc.pauses),
  };
}

/** The bench process' own garbage collections (its pauses delay the poller, not the service). */
function watchGc() {
  const pauses: { atMs: number; ms: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      pauses.push({ atMs: performance.timeOrigin + e.startTime, ms: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return { pauses, stop: () => observer.disconnect() };
}

/**
 * What ran while the slowest probe waited: the sagas that ran in its window (their stages of
 * 5 ms or more), the service's other log lines there (housekeeping, warnings, rebalances) and the
 * bench process' own GC pauses. One line, so that an outlier names its cause.
 */
function explainProbe(
  service: ServiceProcess,
  probe: { ms: number; sentAtMs: number },
  gcPauses: { atMs: number; ms: number }[],
): string {
  const from = probe.sentAtMs;
  const to = probe.sentAtMs + probe.ms + 2;
  const lines = service
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.time === 'number' && l.time >= from);
  // A saga's line is written at its offset commit, after the purge: those that overlap the wait.
  const sagas = lines.filter(
    (l) =>
      l.msg === 'invalidation saga completed' && (l.time as number) - Number(l.duration_ms) <= to,
  );
  const others = [
    ...new Set(
      lines.filter((l) => !sagas.includes(l) && (l.time as number) <= to).map((l) => String(l.msg)),
    ),
  ];
  const sagaText = sagas.map((l) => {
    const stages = Object.entries((l.stages_ms ?? {}) as Record<string, number>)
      .filter(([, ms]) => ms >= 5)
      .map(([stage, ms]) => `${stage} ${Math.round(ms)}`);
    return `${String(l.events)} ev${stages.length ? ` (${stages.join(', ')})` : ''}`;
  });
  const gc = gcPauses.filter((g) => g.atMs + g.ms >= from && g.atMs <= to);
  const gcMs = Math.round(gc.reduce((n, g) => n + g.ms, 0));
  return (
    `slowest probe ${Math.round(probe.ms)} ms: sagas running meanwhile ${sagaText.join('; ') || 'none'}` +
    `; other log lines: ${others.join('; ') || 'none'}; bench GC ${gcMs} ms`
  );
}

/** p50/p99 of each stage over the sagas' log lines (stages_ms), in ms to 0.1. */
function stageFigures(sagas: Record<string, unknown>[]) {
  const figures: Record<string, { p50: number; p99: number }> = {};
  for (const stage of SAGA_STAGES) {
    const values = sagas
      .map((l) => (l.stages_ms as Record<string, number> | undefined)?.[stage])
      .filter((v): v is number => typeof v === 'number')
      .sort((a, b) => a - b);
    if (values.length > 0)
      figures[stage] = { p50: percentile(values, 50), p99: percentile(values, 99) };
  }
  return figures;
}

/**
 * Scale-out: instances first (all ready, the group settled), then the load, timed from the
 * first send; a backlog published before would be drained by the first instance up.
 */
async function scaleOut(instances: number) {
  const world = await World.create(`scale${instances}`, SCALE_PARTITIONS);
  const services: ServiceProcess[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      services.push(await ServiceProcess.start(world.env, { LOG_LEVEL: 'warn', ...SERVICE_ENV }));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const events = backlog(SCALE_EVENTS);
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

const stageText = (figures: ReturnType<typeof stageFigures>) =>
  Object.entries(figures)
    .map(([stage, f]) => `${stage} ${f.p50}/${f.p99}`)
    .join(', ');

/** Each latency run's probes, then its sagas' stages (p50/p99 ms). */
function latencyRows(latency: Awaited<ReturnType<typeof latencyUnderLoad>>[]) {
  return latency.flatMap((l): [string, string, string][] => [
    [
      `latency at ${l.achievedRate} ev/s (target ${l.targetRate}), ${l.probes} probes`,
      `p50 ${l.p50Ms} / p95 ${l.p95Ms} / p99 ${l.p99Ms} / max ${l.maxMs} ms`,
      '',
    ],
    [`  stages p50/p99 ms, ${l.sagas} sagas of ${l.eventsPerSaga} events`, stageText(l.stages), ''],
    [`  the probes' own sagas`, stageText(l.probeStages), ''],
    [`  ${l.slowest}`, '', ''],
  ]);
}

async function withWorld<T>(name: string, use: (world: World) => Promise<T>): Promise<T> {
  const world = await World.create(name, PARTITIONS);
  try {
    return await use(world);
  } finally {
    await world.close();
  }
}

type DrainResult = Awaited<ReturnType<typeof drain>>['result'];

/** One more ceiling and drain, on a backlog of its own (DRAIN_PAIRS). */
function drainPair(pair: number, idleCpu: number) {
  return withWorld(`bench_pair${pair}`, async (world) => {
    await world.publish(backlog(EVENTS));
    const raw = await rawCeiling(world, EVENTS);
    const drained = await drain(world, EVENTS, {}, idleCpu);
    await drained.service.stop();
    return { raw, service: drained.result };
  });
}

/** Each pair's drain ÷ its ceiling, cold and warm, and the medians. */
function pairRatios(pairs: { raw: { eventsPerSecond: number }; service: DrainResult }[]) {
  const of = (rate: (d: DrainResult) => number) => {
    const each = pairs.map((p) => rate(p.service) / p.raw.eventsPerSecond);
    return {
      each,
      median: percentile(
        [...each].sort((a, b) => a - b),
        50,
      ),
    };
  };
  return { cold: of((d) => d.eventsPerSecond), warm: of((d) => d.steadyEventsPerSecond) };
}

const ratioList = ({ each, median }: { each: number[]; median: number }) =>
  `${median.toFixed(2)} (${each.map((r) => r.toFixed(2)).join(', ')})`;

async function main() {
  // Before minutes of other work: a missing CDC stack fails the bench now, naming the fix.
  if (CDC_BENCH && !QUICK && !LATENCY_ONLY) await requireCdcBench();
  const idleCpu = await idleStartupCpu();
  const { raw, service, latency } = await withWorld('bench', async (world) => {
    await world.publish(backlog(EVENTS));
    const raw = await rawCeiling(world, EVENTS);
    const drained = await drain(world, EVENTS, {}, idleCpu);
    try {
      if (QUICK) return { raw, service: drained.result, latency: [] };
      const latency = [];
      if (SETTLE_SECONDS > 0) await latencyUnderLoad(world, drained.service, 1000, SETTLE_SECONDS);
      for (let run = 0; run < LATENCY_RUNS; run++)
        latency.push(await latencyUnderLoad(world, drained.service, 1000));
      latency.push(
        await latencyUnderLoad(
          world,
          drained.service,
          Math.round(drained.result.eventsPerSecond / 2),
        ),
      );
      return { raw, service: drained.result, latency };
    } finally {
      await drained.service.stop();
    }
  });
  const pairs = [{ raw, service }];
  for (let pair = 1; pair < DRAIN_PAIRS; pair++) pairs.push(await drainPair(pair, idleCpu));
  const ratios = pairRatios(pairs);
  if (QUICK) {
    for (const pair of pairs)
      console.log(
        `raw ${pair.raw.eventsPerSecond} ev/s; service ${pair.service.eventsPerSecond} ev/s ` +
          `(warm ${pair.service.steadyEventsPerSecond}) ` +
          `(x${(pair.service.eventsPerSecond / pair.raw.eventsPerSecond).toFixed(2)}), ` +
          `${pair.service.eventsPerSaga} events per saga, ${pair.service.cpuSecondsPer100k.toFixed(2)} CPU s per 100k`,
      );
    if (pairs.length > 1)
      console.log(
        `median of ${pairs.length}: x${ratioList(ratios.cold)}, warm x${ratioList(ratios.warm)}`,
      );
    return;
  }
  if (LATENCY_ONLY) {
    console.log(`raw ${raw.eventsPerSecond} ev/s, service ${service.eventsPerSecond} ev/s`);
    for (const line of latencyRows(latency)) console.log(line.filter(Boolean).join('  '));
    return;
  }
  const perEvent = await withWorld('bench_per_event', async (world) => {
    await world.publish(backlog(PER_EVENT_EVENTS));
    const drained = await drain(
      world,
      PER_EVENT_EVENTS,
      { SAGA_MAX_EVENTS: '1', KAFKA_PARTITIONS_CONCURRENCY: '1' },
      idleCpu,
    );
    await drained.service.stop();
    return drained.result;
  });
  const history = await withWorld('bench_history', async (world) => {
    // The service creates the tables; stop it, seed, then drain the backlog with history.
    const first = await ServiceProcess.start(world.env, { LOG_LEVEL: 'warn', ...SERVICE_ENV });
    await first.stop();
    const historyEvents = await seedHistory(world, HISTORY_EVENTS);
    // The seed's pages are written out first (FOR EXPORT flushes a table's dirty pages): the
    // drain measures a history, not InnoDB flushing what was just seeded.
    await world.sql.query('FLUSH TABLES applied_batches, version_audit FOR EXPORT');
    await world.sql.query('UNLOCK TABLES');
    await world.publish(backlog(EVENTS));
    const drained = await drain(world, EVENTS, {}, idleCpu, historyEvents);
    await drained.service.stop();
    return { ...drained.result, historyEvents };
  });

  const ratio = (n: number) => (n / raw.eventsPerSecond).toFixed(2);
  const rows: [string, string, string][] = [
    ['raw kafkajs fetch + JSON.parse (ceiling)', `${raw.eventsPerSecond} ev/s`, '1.00'],
    [
      `service, 1 instance, empty history`,
      `${service.eventsPerSecond} ev/s`,
      ratio(service.eventsPerSecond),
    ],
    [
      `service, ${(history.historyEvents / 1e6).toFixed(0)} M events of history`,
      `${history.eventsPerSecond} ev/s`,
      `${ratio(history.eventsPerSecond)} (${((history.eventsPerSecond / service.eventsPerSecond - 1) * 100).toFixed(1)} % vs empty)`,
    ],
    [
      'seed per-event design (1 event per saga)',
      `${perEvent.eventsPerSecond} ev/s`,
      ratio(perEvent.eventsPerSecond),
    ],
    [
      'service, warm (after its first saga)',
      `${service.steadyEventsPerSecond} ev/s`,
      ratio(service.steadyEventsPerSecond),
    ],
    [
      `drain ÷ ceiling, median of ${pairs.length} pairs (each)`,
      ratioList(ratios.cold),
      ratios.cold.median.toFixed(2),
    ],
    [
      `  warm, median of ${pairs.length} pairs (each)`,
      ratioList(ratios.warm),
      ratios.warm.median.toFixed(2),
    ],
    ['events per saga (empty history)', String(service.eventsPerSaga), ''],
    ['MySQL commits per event (Handler_commit)', service.mysqlCommitsPerEvent.toFixed(4), ''],
    ['  per-event design', perEvent.mysqlCommitsPerEvent.toFixed(2), ''],
    ['CPU seconds per 100,000 events', service.cpuSecondsPer100k.toFixed(2), ''],
    ['  per-event design', perEvent.cpuSecondsPer100k.toFixed(2), ''],
    ...latencyRows(latency),
  ];
  const cdc = CDC_BENCH ? await cdcLatency() : [];
  rows.push(...cdcRows(cdc));
  const scaleOutRuns = [];
  if (SCALE_OUT) for (const n of [1, 2, 3]) scaleOutRuns.push(await scaleOut(n));
  for (const run of scaleOutRuns) {
    rows.push([
      `scale-out: ${SCALE_EVENTS} events, ${SCALE_PARTITIONS} partitions, ${run.instances} instance(s)`,
      `${run.eventsPerSecond} ev/s (published in ${run.published.toFixed(2)} s)`,
      '',
    ]);
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\n${'figure'.padEnd(width)}  ${'value'.padEnd(40)}  x raw`);
  for (const [name, value, r] of rows)
    console.log(`${name.padEnd(width)}  ${value.padEnd(40)}  ${r}`);
  mkdirSync(join(OUT, '..'), { recursive: true });
  writeFileSync(
    OUT,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        raw,
        service,
        pairs,
        ratios,
        history,
        perEvent,
        latency,
        cdc,
        scaleOutRuns,
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${OUT}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
