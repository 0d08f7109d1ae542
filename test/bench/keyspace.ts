/**
 * `npm run bench:keyspace`: the service's background work against a Redis holding millions of
 * tag sets (KEYSPACE_TAG_SETS, default 3,000,000), a private redis-server on a port of its own
 * (the stack's Redis is never filled). The service runs with the staleness sample and the lock
 * sweep every second while four dashboard pages ask for the shared figures, each once a
 * second; printed: the service's RSS, Redis's commands per second (SCAN, and all) from
 * INFO commandstats, and instantaneous_ops_per_sec, over KEYSPACE_SECONDS (default 60).
 */
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { PrivateRedis } from '../support/private-redis';
import { ServiceProcess } from '../support/service-process';
import { freePort } from '../support/test-env';
import { World } from '../support/world';

const TAG_SETS = Number(process.env.KEYSPACE_TAG_SETS ?? 3_000_000);
const SECONDS = Number(process.env.KEYSPACE_SECONDS ?? 60);
const TOKEN = 'keyspace-bench-admin-token';

const FILL = `
  for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
    redis.call('SADD', ARGV[1] .. 'shop.tag.filler:' .. i, i)
  end`;

async function commandCalls(redis: Redis): Promise<{ scan: number; all: number }> {
  const info = await redis.info('commandstats');
  let all = 0;
  let scan = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    all += Number(match[2]);
    if (match[1] === 'scan') scan = Number(match[2]);
  }
  return { scan, all };
}

async function opsPerSec(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/^instantaneous_ops_per_sec:(\d+)/m.exec(info)?.[1] ?? 0);
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const redis = new PrivateRedis(await freePort());
  await redis.start();
  const world = await World.create('keyspace_bench', 1, { redisUrl: redis.url });
  const admin = new Redis(redis.url);
  let service: ServiceProcess | undefined;
  try {
    for (let from = 1; from <= TAG_SETS; from += 100000)
      await admin.eval(FILL, 0, world.env.redisPrefix, from, Math.min(from + 99999, TAG_SETS));
    const dbsize = await admin.dbsize();
    service = await ServiceProcess.start(world.env, {
      ADMIN_TOKEN: TOKEN,
      STALENESS_SAMPLE_INTERVAL_MS: '1000',
      LOCK_SWEEP_INTERVAL_MS: '1000',
    });
    const running = service;
    const start = { calls: await commandCalls(admin), at: Date.now(), rss: rssMb(running.pid) };
    let stop = false;
    const pages = Array.from({ length: 4 }, async () => {
      while (!stop) {
        await fetch(`${running.url}/dashboard/snapshot`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        }).then((r) => r.arrayBuffer());
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
    const rss: number[] = [];
    const ops: number[] = [];
    while (Date.now() - start.at < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 5000));
      rss.push(rssMb(running.pid));
      ops.push(await opsPerSec(admin));
    }
    stop = true;
    await Promise.all(pages);
    const end = await commandCalls(admin);
    const seconds = (Date.now() - start.at) / 1000;
    const figures = {
      tagSets: TAG_SETS,
      dbsize,
      seconds: Math.round(seconds),
      rssMbAtStart: Math.round(start.rss),
      rssMbMax: Math.round(Math.max(...rss)),
      rssMbEnd: Math.round(rss[rss.length - 1] ?? 0),
      scanPerSec: Math.round((end.scan - start.calls.scan) / seconds),
      commandsPerSec: Math.round((end.all - start.calls.all) / seconds),
      instantaneousOpsPerSec: { min: Math.min(...ops), max: Math.max(...ops) },
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await service?.stop();
    admin.disconnect();
    await world.close().catch(() => undefined);
    await redis.kill();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
