/**
 * The CDC scenario of `npm run bench` (issue 21): commit → purged through the whole chain,
 * catalog MariaDB (3308) → Debezium on Kafka Connect → Kafka → the service → Redis, under a
 * writer that commits single-row UPDATEs at a steady 100 and then 1,000 rows/s
 * (BENCH_CDC_RATES, BENCH_CDC_SECONDS each; BENCH_CDC=0 leaves the scenario out).
 *
 * Each change updates a row of its own (bench_products in example_shop) whose tag
 * `product:<id>` holds a key; it sets the row's `stamp` to a value of its own, which names the
 * change in its Debezium record. Three times per change:
 *  commit    when the autocommit UPDATE returns (MariaDB answers once the commit is done);
 *  record    the record's timestamp on the topic (CreateTime, stamped by Connect's producer when
 *            Debezium's record is handed to it; ms resolution). source.ts_ms is no use here: it
 *            is the binlog event's header time, whole seconds;
 *  purged    the key gone (below).
 * Debezium's share is commit → record, the service's record → purged (its fetch of the topic
 * included), the total commit → purged.
 *
 * "Purged" is observed at the service's version announcements: the saga purges, then announces
 * (invalidation.saga.ts), so when an announcement arrives every key of that saga is gone. On
 * each one a single pipelined EXISTS of the keys still pending finds which, and dates them by
 * its reply (late by at most that round trip, never early). Polling every pending key every
 * millisecond, as the contract latency does for its few probes, would be some 10^5 EXISTS/s at
 * 1,000 changes/s, on the same cores as the chain measured. A slow poll (FALLBACK_POLL_MS)
 * covers a lost announcement (pub/sub is at most once); the keys it finds first are counted
 * (a few are expected: those purged while their announcement is on its way).
 */
import { loadavg } from 'node:os';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { CATALOG, TOPIC, mappingFile, requireCdcStack } from '../cdc/cdc-support';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/test-env';
import { VersionAnnouncements } from '../support/version-announcements';
import { World } from '../support/world';
import { percentile } from './stats';

/** BENCH_CDC=0 leaves the CDC scenario out (it needs `npm run stack:up -- --cdc`). */
export const CDC_BENCH = process.env.BENCH_CDC !== '0';
const RATES = (process.env.BENCH_CDC_RATES ?? '100,1000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_CDC_SECONDS ?? 20);
/** Connections committing: one cannot hold 1,000 commits/s with a flush per commit. */
const WRITERS = 16;
const WARM_UP = { rate: 100, seconds: 2 };
const FALLBACK_POLL_MS = 200;
const GOAL_P99_MS = 250;
const TABLE = 'bench_products';

interface Change {
  key: string;
  sentPerf: number;
  commitPerf: number;
  commitWall: number;
  /** The envelope's ts_ms: when Debezium made the change event of the binlog's. */
  capturedTs?: number;
  recordTs?: number;
  /** When the bench's own consumer had the record (its event loop shared with the writer). */
  fetchedWall?: number;
  purgedPerf?: number;
}

interface Figures {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface CdcLatency {
  targetRate: number;
  achievedRate: number;
  changes: number;
  total: Figures;
  debezium: Figures;
  service: Figures;
  /** Where the time goes: commit → Debezium's event, its event → the record, → a consumer. */
  split: { toDebezium: Figures; inDebezium: Figures; toConsumer: Figures };
  /** The UPDATE sent → its commit returned: how late a commit time can be taken. */
  commitRoundTrip: Figures;
  /** Changes whose purge the fallback poll found first (see the top). */
  foundByPoll: number;
  /** The machine's 1-minute load average at the end: the chain shares its cores. */
  loadAverage: number;
}

const figures = (samples: number[]): Figures => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => Math.round(percentile(sorted, p));
  return { p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: Math.round(sorted.at(-1) ?? 0) };
};

const rowId = (n: number) => `r${String(n).padStart(6, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fails, naming how to start it, when the CDC stack is not up. */
export function requireCdcBench(): Promise<void> {
  return requireCdcStack(' (or leave the CDC scenario out: BENCH_CDC=0 npm run bench)');
}

/** The bench's table in the catalog, with a row for every change of the longest run. */
async function benchTable(db: mysql.Pool, rows: number): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    id VARCHAR(64) PRIMARY KEY, stamp VARCHAR(64) NOT NULL DEFAULT '')`);
  for (let i = 0; i < rows; i += 1000) {
    const ids = Array.from({ length: Math.min(1000, rows - i) }, (_, j) => [rowId(i + j)]);
    await db.query(`INSERT IGNORE INTO ${TABLE} (id) VALUES ?`, [ids]);
  }
}

/** Reads the bench topic and gives each change its record's timestamp, by its stamp. */
async function recordObserver(world: World) {
  const expected = new Map<string, Change>();
  const consumer = world.kafka.consumer({ groupId: `bench-cdc-observer-${world.env.id}` });
  await consumer.connect();
  // From the beginning: no race with the group's join (the history's stamps match nothing).
  await consumer.subscribe({ topics: [TOPIC(TABLE)], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value?.toString();
      if (!value) return;
      const envelope = JSON.parse(value) as { after?: { stamp?: string } | null; ts_ms?: number };
      const change = expected.get(envelope.after?.stamp ?? '');
      if (!change) return;
      change.recordTs = Number(message.timestamp);
      change.capturedTs = envelope.ts_ms;
      change.fetchedWall = Date.now();
    },
  });
  return {
    expect: (stamp: string, change: Change) => expected.set(stamp, change),
    close: async () => {
      await consumer.disconnect();
      await world.admin.deleteGroups([`bench-cdc-observer-${world.env.id}`]).catch(() => undefined);
    },
  };
}

/** Times each pending key's purge by the announcement that follows it (see the top). */
async function purgeObserver(world: World) {
  const redis = new Redis(world.env.redisUrl, { keyPrefix: world.env.redisPrefix });
  const pending = new Map<string, Change>();
  let foundByPoll = 0;
  const check = async (byPoll: boolean) => {
    if (pending.size === 0) return;
    const keys = [...pending.keys()];
    const pipeline = redis.pipeline();
    keys.forEach((k) => pipeline.exists(k));
    const replies = (await pipeline.exec()) ?? [];
    const at = performance.now();
    keys.forEach((k, i) => {
      const change = pending.get(k);
      if (!change || Number(replies[i][1]) !== 0) return;
      change.purgedPerf = at;
      pending.delete(k);
      if (byPoll) foundByPoll++;
    });
  };
  // A failed check is made good by the next one.
  const checkSoon = (byPoll: boolean) => () => void check(byPoll).catch(() => undefined);
  const announcements = await VersionAnnouncements.listen(world.redis, checkSoon(false));
  const poll = setInterval(checkSoon(true), FALLBACK_POLL_MS);
  return {
    pending,
    foundByPoll: () => foundByPoll,
    close: async () => {
      clearInterval(poll);
      await announcements.close();
      redis.disconnect();
    },
  };
}

type Observers = {
  world: World;
  service: ServiceProcess;
  db: mysql.Pool;
  records: Awaited<ReturnType<typeof recordObserver>>;
  purges: Awaited<ReturnType<typeof purgeObserver>>;
};

/** `rate` single-row UPDATEs per second for `seconds`, each change timed through the chain. */
async function steadyWrites(o: Observers, rate: number, seconds: number): Promise<CdcLatency> {
  const n = Math.round(rate * seconds);
  const run = `${o.world.env.id}:${rate}:${seconds}`;
  const changes: Change[] = [];
  for (let i = 0; i < n; i += 500) {
    const ids = Array.from({ length: Math.min(500, n - i) }, (_, j) => rowId(i + j));
    await Promise.all(ids.map((id) => o.world.tag(`product:${id}`, [`page:${id}`])));
  }
  for (let i = 0; i < n; i++) {
    const change: Change = { key: `page:${rowId(i)}`, sentPerf: 0, commitPerf: 0, commitWall: 0 };
    changes.push(change);
    o.records.expect(`${run}:${i}`, change);
  }
  const foundByPollBefore = o.purges.foundByPoll();
  // Open loop: each change is sent at its time whether or not the earlier ones have returned.
  const started = performance.now();
  const commits: Promise<void>[] = [];
  // A failed commit (the catalog restarted) ends the run; caught here, not left unhandled
  // while the loop sleeps (that would end the process before the service is stopped).
  let failed: unknown;
  for (let i = 0; i < n && failed === undefined;) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) {
      await sleep(wait);
      continue;
    }
    const change = changes[i];
    change.sentPerf = performance.now();
    commits.push(
      o.db
        .query(`UPDATE ${TABLE} SET stamp = ? WHERE id = ?`, [`${run}:${i}`, rowId(i)])
        .then(() => {
          change.commitPerf = performance.now();
          change.commitWall = Date.now();
          o.purges.pending.set(change.key, change);
        })
        .catch((error: unknown) => void (failed ??= error)),
    );
    i++;
  }
  await Promise.all(commits);
  if (failed !== undefined) throw failed;
  const lastCommit = Math.max(...changes.map((c) => c.commitPerf));
  await waitFor(
    `the ${n} changes at ${rate} rows/s purged`,
    async () => changes.every((c) => c.purgedPerf !== undefined),
    60000,
    50,
  );
  await waitFor(
    `the ${n} changes' records on ${TOPIC(TABLE)}`,
    async () => changes.every((c) => c.recordTs !== undefined),
    30000,
    50,
  );
  if (process.env.BENCH_DEBUG)
    await sagaDebug(o.service, rate, Date.now() - (performance.now() - started));
  const total = changes.map((c) => (c.purgedPerf ?? 0) - c.commitPerf);
  // The shares add up to the total: Debezium's on the wall clock (the record's timestamp is
  // Connect's), the service's the rest.
  const debezium = changes.map((c) => (c.recordTs ?? 0) - c.commitWall);
  return {
    targetRate: rate,
    achievedRate: Math.round(n / ((lastCommit - started) / 1000)),
    changes: n,
    total: figures(total),
    debezium: figures(debezium),
    service: figures(total.map((t, i) => t - debezium[i])),
    split: {
      toDebezium: figures(changes.map((c) => (c.capturedTs ?? 0) - c.commitWall)),
      inDebezium: figures(changes.map((c) => (c.recordTs ?? 0) - (c.capturedTs ?? 0))),
      toConsumer: figures(changes.map((c) => (c.fetchedWall ?? 0) - (c.recordTs ?? 0))),
    },
    commitRoundTrip: figures(changes.map((c) => c.commitPerf - c.sentPerf)),
    foundByPoll: o.purges.foundByPoll() - foundByPollBefore,
    loadAverage: Number(loadavg()[0].toFixed(1)),
  };
}

const stageTotals = new Map<string, number>();

/** BENCH_DEBUG: the service's sagas since `sinceMs`, from its log, and its stages' time. */
async function sagaDebug(service: ServiceProcess, rate: number, sinceMs: number): Promise<void> {
  const stages: string[] = [];
  for (const stage of ['lock', 'transaction', 'publish', 'purge']) {
    const sum = await service.metric('invalidator_stage_duration_seconds_sum', { stage });
    const count = await service.metric('invalidator_stage_duration_seconds_count', { stage });
    const [s0, c0] = [stageTotals.get(`${stage}s`) ?? 0, stageTotals.get(`${stage}c`) ?? 0];
    stageTotals.set(`${stage}s`, sum).set(`${stage}c`, count);
    stages.push(`${stage} ${(((sum - s0) * 1000) / Math.max(1, count - c0)).toFixed(1)}`);
  }
  console.log(`${rate} rows/s: mean ms per saga: ${stages.join(', ')}`);
  const sagas = service
    .logLines('invalidation saga completed')
    .filter((l) => Number(l.time) >= sinceMs);
  const durations = figures(sagas.map((l) => Number(l.duration_ms)));
  const events = sagas.reduce((n, l) => n + Number(l.events), 0);
  console.log(
    `${rate} rows/s: ${sagas.length} sagas, ${(events / Math.max(1, sagas.length)).toFixed(1)} events each, ` +
      `duration p50 ${durations.p50Ms} / p99 ${durations.p99Ms} / max ${durations.maxMs} ms`,
  );
}

/** The scenario: one service on the bench table's topic, a warm-up, then each rate. */
export async function cdcLatency(): Promise<CdcLatency[]> {
  await requireCdcBench();
  const rows = Math.max(...RATES.map((r) => Math.round(r * SECONDS)));
  const db = mysql.createPool({ ...CATALOG, connectionLimit: WRITERS });
  const world = await World.create('bench_cdc');
  let service: ServiceProcess | undefined;
  let records: Observers['records'] | undefined;
  let purges: Observers['purges'] | undefined;
  const sentinel = `sentinel-${world.env.id}`;
  try {
    await world.tag(`product:${sentinel}`, [`page:${sentinel}`]);
    await benchTable(db, rows);
    // Also makes Debezium create the topic on a first run: the service would create a missing
    // topic with its own partition count, Connect with one.
    await db.query(`INSERT INTO ${TABLE} (id) VALUES (?)`, [sentinel]);
    await waitFor(
      `Debezium's topic ${TOPIC(TABLE)}`,
      async () => (await world.admin.listTopics()).includes(TOPIC(TABLE)),
      60000,
    );
    records = await recordObserver(world);
    purges = await purgeObserver(world);
    service = await ServiceProcess.start(world.env, {
      CDC_MAPPING_FILE: mappingFile({
        topics: [TOPIC(TABLE)],
        tables: { [`${CATALOG.database}.${TABLE}`]: { event: 'ProductUpdated', id: 'id' } },
      }),
    });
    // The service's new group reads the topic's history (earlier runs) first: once the
    // sentinel, inserted after it, is purged, the one partition is read up to now.
    await waitFor(
      'the service to catch up with the topic',
      async () => !(await world.exists(`shop.tag.product:${sentinel}`)),
      300000,
      100,
    );
    const observers = { world, service, db, records, purges };
    await steadyWrites(observers, WARM_UP.rate, WARM_UP.seconds);
    const results: CdcLatency[] = [];
    for (const rate of RATES) results.push(await steadyWrites(observers, rate, SECONDS));
    return results;
  } finally {
    await service?.stop();
    await purges?.close();
    await records?.close();
    await db.query(`DELETE FROM ${TABLE} WHERE id = ?`, [sentinel]).catch(() => undefined);
    await db.end();
    await world.close();
  }
}

const shown = (f: Figures) =>
  `p50 ${f.p50Ms} / p95 ${f.p95Ms} / p99 ${f.p99Ms} / max ${f.maxMs} ms`;

/** The scenario's lines in the bench's table. */
export function cdcRows(results: CdcLatency[]): [string, string, string][] {
  return results.flatMap((r): [string, string, string][] => [
    [
      `cdc commit → purged at ${r.achievedRate} rows/s (target ${r.targetRate}), ${r.changes} changes`,
      shown(r.total),
      `${r.total.p99Ms <= GOAL_P99_MS ? '≤' : '>'} ${GOAL_P99_MS} ms p99; load ${r.loadAverage}; ` +
        `commit round trip p50 ${r.commitRoundTrip.p50Ms} / p99 ${r.commitRoundTrip.p99Ms} ms`,
    ],
    ['  Debezium: commit → record on the topic', shown(r.debezium), ''],
    [
      '    commit → its event | event → record (p50/p99)',
      `${r.split.toDebezium.p50Ms}/${r.split.toDebezium.p99Ms} | ${r.split.inDebezium.p50Ms}/${r.split.inDebezium.p99Ms} ms`,
      '',
    ],
    [
      '  service: record → purged',
      `${shown(r.service)} (record → a bare consumer: p50 ${r.split.toConsumer.p50Ms} / p99 ${r.split.toConsumer.p99Ms})`,
      r.foundByPoll > 0 ? `${r.foundByPoll} found first by the poll` : '',
    ],
  ]);
}

// Run alone: `npx ts-node -r tsconfig-paths/register --transpile-only test/bench/cdc.ts`.
if (require.main === module) {
  cdcLatency()
    .then((results) => {
      for (const [name, value, note] of cdcRows(results))
        console.log(`${name.padEnd(70)}  ${value.padEnd(40)}  ${note}`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
