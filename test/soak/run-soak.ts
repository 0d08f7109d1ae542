import { ChildProcess, fork } from 'node:child_process';
import { WriteStream, createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import mysql, { Pool, RowDataPacket } from 'mysql2/promise';
import { VERSIONS_CHANNEL } from '@invalidator/client';
import { unpackEvents } from '@invalidator/versioning';
import { KafkaProxy } from '../support/kafka-proxy';
import { PrivateCluster } from '../support/private-cluster';
import { PrivateRedis } from '../support/private-redis';
import { ServiceProcess } from '../support/service-process';
import { ShopProcess } from '../support/shop-process';
import { TcpProxy } from '../support/tcp-proxy';
import {
  KAFKA_BROKERS,
  MYSQL_ROOT_URL,
  REDIS_CLUSTER_NODES,
  freePort,
  mysqlTestOptions,
  waitFor,
} from '../support/test-env';
import { World } from '../support/world';
import { HistoryLine, SoakFigures, WriteLine, checkHistory } from './history';
import { ReaderConfig, ReaderMessage, ReaderStats } from './reader';

/** The faults of the schedule, in the order they come round (README "Soak"). */
export const FAULTS = [
  'service-sigkill',
  'redis-restart',
  'mysql-outage',
  'broker-restart',
  'rebalance',
] as const;
/** On the soak's own Redis Cluster (SOAK_REDIS=cluster) the Redis restart is a master failover. */
export type FaultName = (typeof FAULTS)[number] | 'master-failover';

export interface SoakOptions {
  seconds: number;
  versionCheck: boolean;
  /**
   * The client's in-process tier (SOAK_LOCAL): in no reader, in every one (`1`), or in the odd
   * ones (`half`: readers 1, 3, …; the others read Redis only, beside them). A single Redis only.
   */
  local: 'off' | 'all' | 'half';
  readers: number;
  /** Read loops per reader process. */
  concurrency: number;
  /** Each loop's pause between reads, ms. */
  readPauseMs: number;
  /** Every fill waits up to this long between reading the shop's row and storing it. */
  fillDelayMs: number;
  products: number;
  /** Each product's writer waits up to this long between two changes. */
  writePauseMs: number;
  /** A fault starts every this many seconds (the first after one steady window). */
  faultEverySeconds: number;
  faults: readonly FaultName[];
  /** `single`: a redis-server of the soak's own; `cluster`: a 6-node cluster of its own. */
  redis: 'single' | 'cluster';
  /** How long MySQL is away, and the broker, ms. */
  mysqlOutageMs: number;
  brokerDownMs: number;
  historyFile: string;
  log: (line: string) => void;
}

export const ROOT = join(__dirname, '..', '..');

/** The options from the environment (README "Soak"), each with its default. */
export function soakOptionsFromEnv(env: Record<string, string | undefined>): SoakOptions {
  const number = (name: string, fallback: number) => {
    const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number ≥ 0`);
    return value;
  };
  const seconds = number('SOAK_SECONDS', 1800);
  const faults = (env.SOAK_FAULTS ?? FAULTS.join(','))
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f && f !== 'none');
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length) throw new Error(`SOAK_FAULTS: unknown ${unknown} (known: ${FAULTS})`);
  const check = (env.SOAK_CHECK ?? 'on').toLowerCase();
  if (!['on', 'off'].includes(check)) throw new Error('SOAK_CHECK must be on or off');
  const locals: Record<string, SoakOptions['local']> = {
    '': 'off',
    0: 'off',
    1: 'all',
    half: 'half',
  };
  const local = locals[env.SOAK_LOCAL ?? ''];
  if (!local) throw new Error('SOAK_LOCAL must be 1 (every reader), half (the odd ones) or unset');
  return {
    seconds,
    versionCheck: check === 'on',
    local,
    readers: number('SOAK_READERS', 4),
    concurrency: number('SOAK_CONCURRENCY', 12),
    readPauseMs: number('SOAK_READ_PAUSE_MS', 20),
    fillDelayMs: number('SOAK_FILL_DELAY_MS', 400),
    products: number('SOAK_PRODUCTS', 6),
    writePauseMs: number('SOAK_WRITE_PAUSE_MS', 1000),
    faultEverySeconds: number(
      'SOAK_FAULT_EVERY_S',
      Math.min(60, Math.max(10, Math.floor(seconds / (FAULTS.length + 1)))),
    ),
    faults: faults as FaultName[],
    redis: env.SOAK_REDIS === 'cluster' ? 'cluster' : 'single',
    mysqlOutageMs: number('SOAK_MYSQL_OUTAGE_MS', 10000),
    brokerDownMs: number('SOAK_BROKER_DOWN_MS', 5000),
    historyFile: env.SOAK_HISTORY ?? join(ROOT, '.stack', 'soak-history.jsonl'),
    log: (line) => console.log(line),
  };
}

export interface SoakResult {
  figures: SoakFigures;
  historyFile: string;
  staleFillsRejected: number;
  readErrors: number;
}

/** Whether reader `reader` (from 1) has the in-process tier. */
export const hasLocalTier = (local: SoakOptions['local'], reader: number): boolean =>
  local === 'all' || (local === 'half' && reader % 2 === 1);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reader process: forked with ts-node, its reads handed to `onReads` as they come. */
class Reader {
  private done?: Promise<ReaderStats>;

  private constructor(private readonly child: ChildProcess) {}

  static async start(
    config: ReaderConfig,
    onReads: (reads: Extract<ReaderMessage, { reads: unknown }>['reads']) => void,
  ): Promise<Reader> {
    const child = fork(join(__dirname, 'reader.ts'), [], {
      cwd: ROOT,
      execArgv: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
      env: { ...process.env, SOAK_READER: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const reader = new Reader(child);
    reader.done = new Promise((resolve, reject) => {
      child.on('message', (message: ReaderMessage) => {
        if ('reads' in message) onReads(message.reads);
        if ('done' in message) resolve(message.done);
      });
      child.on('exit', (code) => reject(new Error(`reader ${config.reader} exited (${code})`)));
    });
    reader.done.catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: ReaderMessage) => 'ready' in message && resolve());
      child.on('exit', (code) =>
        reject(new Error(`reader ${config.reader} exited at start (${code})`)),
      );
    });
    return reader;
  }

  async stop(): Promise<ReaderStats> {
    if (this.child.connected) this.child.send('stop');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30000);
    try {
      return await this.done!;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * The soak: the example shop's own routes change its products (its outbox relays each change to
 * Kafka), reader processes read them through libs/client with every fill delayed, faults come on
 * a schedule, and every write, read and fault is written to the history, judged at the end
 * (history.ts). Every fault is done with the soak's own processes and ports: a private
 * redis-server, a TCP proxy in front of MariaDB and a Kafka proxy in front of the broker (the
 * service's and the shop's way to them), the soak's own service instances.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  // The soak's own cluster (SOAK_REDIS=cluster), or the stack's (TEST_REDIS_CLUSTER_NODES),
  // which is shared: its masters are not the soak's to kill, so it gets no Redis fault.
  const ownCluster = options.redis === 'cluster';
  const cluster = ownCluster || Boolean(REDIS_CLUSTER_NODES);
  // The client refuses its in-process tier on a Cluster client: said here, before anything starts.
  if (options.local !== 'off' && cluster) {
    throw new Error(
      `SOAK_LOCAL=${options.local === 'all' ? '1' : 'half'} with ` +
        `${ownCluster ? 'SOAK_REDIS=cluster' : "TEST_REDIS_CLUSTER_NODES (the stack's cluster)"}: ` +
        "libs/client's in-process tier needs a single Redis (it refuses a Cluster client); " +
        'unset one of the two',
    );
  }
  const localReaders = Array.from({ length: options.readers }, (_, i) => i + 1).filter((r) =>
    hasLocalTier(options.local, r),
  );
  const faults = options.faults.flatMap((f): FaultName[] =>
    f !== 'redis-restart' ? [f] : ownCluster ? ['master-failover'] : cluster ? [] : [f],
  );
  const cleanup: (() => Promise<unknown>)[] = [];
  const readers: Reader[] = [];
  let history: WriteStream | undefined;
  try {
    // A Redis of the soak's own (a single one; on a cluster the cluster's), kept on no disk.
    let redis: PrivateRedis | undefined;
    let privateCluster: PrivateCluster | undefined;
    if (ownCluster) {
      privateCluster = await PrivateCluster.start();
      cleanup.unshift(() => privateCluster!.stop());
    } else if (!cluster) {
      redis = new PrivateRedis(await freePort());
      await redis.start();
      cleanup.unshift(() => redis!.kill());
    }
    const clusterNodes = privateCluster?.nodes ?? REDIS_CLUSTER_NODES;
    const world = await World.create(
      'soak',
      6,
      privateCluster ? { redisClusterNodes: clusterNodes } : redis ? { redisUrl: redis.url } : {},
    );
    world.redis.on('error', () => undefined);
    cleanup.unshift(() => world.close().catch(() => undefined));
    const mysqlUrl = new URL(world.env.mysqlUrl);
    const mysqlProxy = await TcpProxy.start(mysqlUrl.hostname, Number(mysqlUrl.port || 3306));
    cleanup.unshift(() => mysqlProxy.close());
    mysqlUrl.port = String(mysqlProxy.port);
    const [brokerHost, brokerPort] = KAFKA_BROKERS[0].split(':');
    const kafkaProxy = await KafkaProxy.start(brokerHost, Number(brokerPort));
    cleanup.unshift(() => kafkaProxy.close());
    const serviceExtra = {
      MYSQL_URL: mysqlUrl.toString(),
      KAFKA_BROKERS: kafkaProxy.address,
      RETRY_MAX_DELAY_MS: '1000',
      LOG_LEVEL: 'warn',
    };
    const service = await ServiceProcess.start(world.env, serviceExtra);
    cleanup.unshift(() => service.stop());
    const shop = await ShopProcess.start({ ...world.env, brokers: [kafkaProxy.address] });
    cleanup.unshift(async () => {
      await shop.stop();
      const root = await mysql.createConnection(mysqlTestOptions(MYSQL_ROOT_URL));
      await root.query(`DROP DATABASE IF EXISTS \`${shop.database}\``);
      await root.end();
    });
    const shopDb: Pool = mysql.createPool({
      ...mysqlTestOptions(`${MYSQL_ROOT_URL}/${shop.database}`),
      connectionLimit: 4,
    });
    cleanup.unshift(() => shopDb.end());

    // The products, at revision 1 (the price is the revision), in one category.
    const products = Array.from({ length: options.products }, (_, i) => `soak-${i + 1}`);
    const put = async (path: string, body: unknown) => {
      const res = await shop.request('PUT', path, body);
      if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
    };
    await put('/categories/soak', { name: 'soak' });
    const product = (id: string, revision: number) =>
      put(`/products/${id}`, { name: id, price: revision, categoryIds: ['soak'] });
    for (const id of products) await product(id, 1);
    // The seed applied (its events in the ledger) and its version published before the soak.
    const [seeded] = await shopDb.query<RowDataPacket[]>('SELECT payload FROM outbox');
    const seedIds = seeded.map((r) => (JSON.parse(r.payload) as { eventId: string }).eventId);
    await waitFor(
      'the seed applied',
      async () => (await world.inboxCount(seedIds)) === seedIds.length,
      60000,
    );
    await waitFor(
      'the seed published',
      async () => (await announcedVersion(world)) === (await world.versions()).products,
    );

    // Announcements: each heard one resolves, from the audit, the changes it covers.
    const announced = new Map<string, { version: number; at: number }>();
    const pending = new Map<string, Omit<WriteLine, 'version' | 'announcedAt'>>();
    let resolvedUpTo = await announcedVersion(world);
    let resolving = Promise.resolve();
    /** Fence token → the products version its saga bumped to; the ledger's rows not yet matched. */
    const tokens = new Map<string, number>();
    let unmatched: Batch[] = [];
    let lastBatch = '0';
    const write = (line: HistoryLine) => history!.write(`${JSON.stringify(line)}\n`);
    const settle = (eventId: string) => {
      const change = pending.get(eventId);
      const heard = announced.get(eventId);
      if (!change || !heard) return;
      pending.delete(eventId);
      write({ ...change, type: 'write', version: heard.version, announcedAt: heard.at });
    };
    const subscriber = world.redis.duplicate();
    subscriber.on('error', () => undefined);
    cleanup.unshift(async () => subscriber.disconnect());
    const channel = `${world.env.redisPrefix}${VERSIONS_CHANNEL}`;
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const at = Date.now();
      const version = (JSON.parse(message) as { versions: Record<string, number> }).versions
        .products;
      if (!version || version <= resolvedUpTo) return;
      const after = resolvedUpTo;
      resolvedUpTo = version;
      resolving = resolving
        .then(async () => {
          // The sagas of the versions this announcement covers (their audit rows' fence tokens),
          // then their events from the offset ledger: each saga's rows carry its token.
          const bumps = await world.query<{ new_version: string; fence_token: string }>(
            `SELECT new_version, fence_token FROM version_audit
           WHERE data_type = 'products' AND new_version > ? AND new_version <= ?`,
            [after, version],
          );
          for (const bump of bumps) tokens.set(bump.fence_token, Number(bump.new_version));
          unmatched.push(
            ...(await world.query<Batch>(
              'SELECT id, first_offset, event_ids, fence_token FROM applied_batches WHERE id > ? ORDER BY id',
              [lastBatch],
            )),
          );
          lastBatch = unmatched.at(-1)?.id ?? lastBatch;
          unmatched = unmatched.filter((batch) => {
            const bumped = tokens.get(batch.fence_token);
            if (bumped === undefined) return true;
            for (const { eventId } of unpackEvents(batch.event_ids, BigInt(batch.first_offset))) {
              if (!announced.has(eventId)) announced.set(eventId, { version: bumped, at });
              settle(eventId);
            }
            return false;
          });
        })
        .catch((error) => log(`soak: the audit of products ${after}-${version} unread: ${error}`));
    });
    await subscriber.subscribe(channel);

    mkdirSync(dirname(options.historyFile), { recursive: true });
    history = createWriteStream(options.historyFile);
    const startedAt = Date.now();
    write({
      type: 'run',
      at: startedAt,
      seconds: options.seconds,
      versionCheck: options.versionCheck,
      localReaders,
      readers: options.readers,
      concurrency: options.concurrency,
      products,
      fillDelayMs: options.fillDelayMs,
      redis: cluster ? 'cluster' : 'single',
    });

    for (let reader = 1; reader <= options.readers; reader++) {
      const config: ReaderConfig = {
        reader,
        ...(cluster ? { clusterNodes } : { redisUrl: redis!.url }),
        keyPrefix: world.env.redisPrefix,
        mysqlUrl: `${MYSQL_ROOT_URL}/${shop.database}`,
        products,
        concurrency: options.concurrency,
        fillDelayMs: options.fillDelayMs,
        pauseMs: options.readPauseMs,
        versionCheck: options.versionCheck,
        local: localReaders.includes(reader),
      };
      readers.push(
        await Reader.start(config, (reads) => {
          for (const [index, start, end, revision, version] of reads) {
            write({
              type: 'read',
              reader,
              product: products[index],
              start,
              end,
              revision,
              announced: version,
            });
          }
        }),
      );
    }
    log(
      `soak: ${options.readers} readers × ${options.concurrency} loops, ${products.length} products, ` +
        `fills delayed ≤ ${options.fillDelayMs} ms, version check ${options.versionCheck ? 'on' : 'off'}, ` +
        `in-process tier in ${localReaders.length ? `readers ${localReaders.join(', ')}` : 'none'}, ` +
        `faults every ${options.faultEverySeconds} s: ${faults.join(', ') || 'none'}; history ${options.historyFile}`,
    );

    // The run proper starts once the readers are up (that can take seconds): the faults' schedule
    // counts from here too, so a slow start never fits one fault more into the run.
    const begun = Date.now();
    const until = begun + options.seconds * 1000;
    let writeErrors = 0;
    const writer = async (id: string) => {
      for (let revision = 2; Date.now() < until;) {
        const sentAt = Date.now();
        try {
          await product(id, revision);
        } catch {
          writeErrors++;
          await sleep(200);
          continue;
        }
        const committedAt = Date.now();
        // One writer per product: the product's last outbox row is this change's event.
        const [rows] = await shopDb.query<RowDataPacket[]>(
          'SELECT payload FROM outbox WHERE message_key = ? ORDER BY id DESC LIMIT 1',
          [id],
        );
        const eventId = (JSON.parse(rows[0].payload) as { eventId: string }).eventId;
        pending.set(eventId, {
          type: 'write',
          product: id,
          revision,
          eventId,
          sentAt,
          committedAt,
        });
        settle(eventId);
        revision++;
        await sleep(Math.random() * options.writePauseMs);
      }
    };

    const runFault = async (fault: FaultName) => {
      switch (fault) {
        case 'service-sigkill':
          await service.kill();
          await service.spawn();
          return;
        case 'redis-restart':
          await redis!.kill();
          await redis!.start();
          return;
        case 'master-failover':
          await privateCluster!.failover(`${world.env.redisPrefix}shop.version.products`);
          return;
        case 'mysql-outage':
          mysqlProxy.cut();
          await sleep(options.mysqlOutageMs);
          mysqlProxy.restore();
          return;
        case 'broker-restart':
          kafkaProxy.cut();
          await sleep(options.brokerDownMs);
          kafkaProxy.restore();
          return;
        case 'rebalance': {
          const second = await ServiceProcess.start(world.env, serviceExtra);
          try {
            await sleep(5000);
          } finally {
            await second.stop();
          }
          return;
        }
      }
    };
    const schedule = async () => {
      const every = options.faultEverySeconds * 1000;
      for (let n = 0; faults.length > 0; n++) {
        const next = begun + (n + 1) * every;
        // A fault starts only with time left to see it and what follows it.
        if (next + every / 2 > until) return;
        await sleep(Math.max(0, next - Date.now()));
        const fault = faults[n % faults.length];
        const start = Date.now();
        await runFault(fault);
        write({ type: 'fault', fault, start, end: Date.now() });
        log(
          `soak: ${fault} at ${((start - startedAt) / 1000).toFixed(0)} s, ${Date.now() - start} ms`,
        );
      }
    };

    await Promise.all([schedule(), ...products.map(writer)]);
    if (service.exited()) await service.spawn();
    const stats = await Promise.all(readers.map((r) => r.stop()));
    write({
      type: 'end',
      at: Date.now(),
      localHits: stats.reduce((sum, s) => sum + s.localHits, 0),
    });
    // Every change announced, or written as never announced once the service had time to.
    await waitFor('every change announced', async () => pending.size === 0, 60000, 100).catch(
      () => undefined,
    );
    await resolving;
    for (const change of pending.values()) {
      write({ ...change, type: 'write', version: null, announcedAt: null });
    }
    await new Promise<void>((resolve) => history!.end(resolve));
    history = undefined;
    if (writeErrors > 0) log(`soak: ${writeErrors} writes refused by the shop (retried)`);
    return {
      figures: await checkHistory(options.historyFile),
      historyFile: options.historyFile,
      staleFillsRejected: stats.reduce((sum, s) => sum + s.staleFillsRejected, 0),
      readErrors: stats.reduce((sum, s) => sum + s.errors, 0),
    };
  } finally {
    for (const reader of readers) reader.kill();
    history?.end();
    for (const step of cleanup) await step().catch(() => undefined);
  }
}

interface Batch {
  id: string;
  first_offset: string;
  event_ids: Buffer;
  fence_token: string;
}

/** The products version Redis holds (what the service last published). */
async function announcedVersion(world: World): Promise<number> {
  const value = await world.redis.get('shop.version.products');
  return value ? Number((JSON.parse(value) as { version: number }).version) : 0;
}
