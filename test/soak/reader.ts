/**
 * One web-tier process of the soak, forked by run-soak.ts: `concurrency` loops read the soak's
 * products through libs/client's `remember()`, filling from the shop's own table with every fill
 * delayed (the staleness race's fill, forced), and send each read to the soak in batches.
 */
import Redis, { Cluster } from 'ioredis';
import mysql from 'mysql2/promise';
import { CacheClient, CacheClientOptions } from '@invalidator/client';
import { delayedFill } from '../support/staleness-race';
import { REDIS_SECURITY, clusterNodes, mysqlTestOptions } from '../support/test-env';

export interface ReaderConfig {
  reader: number;
  /** A single Redis, or the seed nodes of a cluster. */
  redisUrl?: string;
  clusterNodes?: string;
  keyPrefix: string;
  /** The shop's database: the source of truth a fill reads. */
  mysqlUrl: string;
  products: string[];
  concurrency: number;
  fillDelayMs: number;
  /** Pause of each loop between two reads, ms. */
  pauseMs: number;
  versionCheck: boolean;
  /** The client's in-process tier (SOAK_LOCAL=1); a single Redis only (refused on a Cluster). */
  local: boolean;
}

/** A read as sent to the soak: product index, start, end, revision, products version announced. */
export type ReadTuple = [number, number, number, number, number];

export type ReaderMessage = { ready: true } | { reads: ReadTuple[] } | { done: ReaderStats };

/** A reader's counts at its end; `localHits`: reads the in-process tier answered. */
export interface ReaderStats {
  errors: number;
  staleFillsRejected: number;
  hits: number;
  localHits: number;
  misses: number;
}

/**
 * SOAK_LOCAL's tier: bounds far above the soak's few products, so that only the announcements
 * (never the bounds) drop its entries.
 */
export const SOAK_LOCAL_TIER: CacheClientOptions['local'] = {
  maxEntries: 10000,
  maxBytes: 1 << 24,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const config = JSON.parse(process.env.SOAK_READER ?? '{}') as ReaderConfig;
  const send = (message: ReaderMessage) => process.send?.(message);
  const redis = config.clusterNodes
    ? new Cluster(clusterNodes(config.clusterNodes), {
        keyPrefix: config.keyPrefix,
        redisOptions: REDIS_SECURITY,
      })
    : new Redis(config.redisUrl ?? '', { keyPrefix: config.keyPrefix, ...REDIS_SECURITY });
  // A Redis restarted by the soak: commands fail while it is away, the loops count and go on.
  redis.on('error', () => undefined);
  const pool = mysql.createPool({ ...mysqlTestOptions(config.mysqlUrl), connectionLimit: 4 });
  const client = await CacheClient.connect({
    redis,
    versionCheck: config.versionCheck,
    ...(config.local ? { local: SOAK_LOCAL_TIER } : {}),
  });

  let stopping = false;
  process.on('message', (message) => {
    if (message === 'stop') stopping = true;
  });
  let batch: ReadTuple[] = [];
  const flush = () => {
    if (batch.length > 0) send({ reads: batch });
    batch = [];
  };
  const flusher = setInterval(flush, 200);
  let errors = 0;

  const revisionOf = async (id: string) => {
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      'SELECT price FROM products WHERE id = ?',
      [id],
    );
    return Number(rows[0]?.price ?? 0);
  };

  const loop = async () => {
    while (!stopping) {
      const index = Math.floor(Math.random() * config.products.length);
      const id = config.products[index];
      try {
        const start = Date.now();
        const { announced } = await client.versions();
        const revision = await client.remember(
          `soak:product:${id}`,
          { tags: [`product:${id}`], ttl: 60, types: ['products'] },
          delayedFill(() => revisionOf(id), config.fillDelayMs),
        );
        batch.push([index, start, Date.now(), revision, announced.products ?? 0]);
      } catch {
        errors++;
        await sleep(50);
      }
      await sleep(config.pauseMs);
    }
  };

  send({ ready: true });
  await Promise.all(Array.from({ length: config.concurrency }, loop));
  clearInterval(flusher);
  flush();
  const stats = client.stats();
  send({
    done: {
      errors,
      staleFillsRejected: stats.staleFillsRejected,
      hits: stats.hits,
      localHits: stats.localHits,
      misses: stats.misses,
    },
  });
  await client.close();
  await pool.end();
  redis.disconnect();
  process.disconnect?.();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
