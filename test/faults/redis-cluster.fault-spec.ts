import { execFileSync } from 'node:child_process';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { TagPurger } from '@invalidator/cache';
import { CacheClient, decodeHeader, parseVersion, tagKey, versionKey } from '@invalidator/client';
import { ServiceProcess } from '../support/service-process';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { REDIS_CLUSTER_NODES, REDIS_SECURITY, clusterNodes, waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

// Collected only when a Redis Cluster is configured (TEST_REDIS_CLUSTER_NODES; jest.config.js),
// the local one of `npm run stack:up -- --redis-cluster`: it kills and restarts its nodes.

interface ClusterNode {
  id: string;
  port: number;
  master: boolean;
  slots: [number, number][];
}

function redisCli(port: number, ...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
}

function nodes(port: number): ClusterNode[] {
  return redisCli(port, 'cluster', 'nodes')
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, , , , , state, ...slots] = line.split(' ');
      return {
        id,
        port: Number(address.split('@')[0].split(':')[1]),
        master: flags.includes('master') && !flags.includes('fail') && state === 'connected',
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => s.split('-').map(Number) as [number, number])
          .map(([a, b]) => [a, b ?? a] as [number, number]),
      };
    });
}

const ownerOf = (all: ClusterNode[], slot: number) =>
  all.find((n) => n.master && n.slots.some(([a, b]) => slot >= a && slot <= b));

async function clusterOk(port: number): Promise<boolean> {
  return /cluster_state:ok/.test(redisCli(port, 'cluster', 'info'));
}

describe('Redis Cluster faults mid-load', () => {
  let world: World;
  let service: ServiceProcess | undefined;
  const ports = () => clusterNodes(REDIS_CLUSTER_NODES ?? '').map((n) => n.port);

  beforeEach(async () => {
    world = await World.create('rcluster', 6);
  });

  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await world?.close();
  });

  it('a master killed with SIGKILL mid-load (its replica takes over) loses nothing, and versions never go backwards', async () => {
    const events = mixedLoad(2000, 'mk');
    const tags = await seedTags(world, events);
    service = await ServiceProcess.start(world.env);
    const publishing = publishInBackground(world, events, 50, 150);
    const seen = watchVersions(world);

    await new Promise((r) => setTimeout(r, 2000));
    const port = ports().find((p) => nodes(p).some((n) => n.master)) ?? ports()[0];
    const slot = calculateSlot(`${world.env.redisPrefix}shop.version.products`);
    const victim = ownerOf(nodes(port), slot)!;
    const pid = Number(/process_id:(\d+)/.exec(redisCli(victim.port, 'info', 'server'))![1]);
    process.kill(pid, 'SIGKILL');
    const survivor = ports().find((p) => p !== victim.port)!;
    await waitFor(
      'the replica promoted',
      async () => ownerOf(nodes(survivor), slot)?.port !== victim.port && clusterOk(survivor),
      60000,
      250,
    );
    const faultEnded = Date.now();
    // The old master comes back as a replica of the new one (stack.sh restarts what is down).
    execFileSync('bash', ['scripts/stack.sh', 'cluster-up'], { stdio: 'ignore' });

    await drainAndCheck(world, {
      case: 'redis-cluster-master-kill',
      events,
      tags,
      faults: `SIGKILL of the master of shop.version.products (port ${victim.port}), failover`,
      faultEnded,
      publishing,
    });
    expect(await seen.stop()).toEqual([]);
  });

  it('the slots of version keys and tag sets migrated to another master mid-load lose nothing', async () => {
    const events = mixedLoad(2000, 'sm');
    const tags = await seedTags(world, events);
    service = await ServiceProcess.start(world.env);
    const publishing = publishInBackground(world, events, 50, 150);
    const seen = watchVersions(world);
    await new Promise((r) => setTimeout(r, 1500));

    const keys = ['shop.version.products', 'shop.version.global', 'shop.tag.products'];
    const slots = [...new Set(keys.map((k) => calculateSlot(`${world.env.redisPrefix}${k}`)))];
    const port = ports()[0];
    let moved = 0;
    for (const slot of slots) {
      const all = nodes(port);
      const from = ownerOf(all, slot)!;
      const to = all.find((n) => n.master && n.id !== from.id)!;
      migrateSlot(from, to, slot);
      moved++;
    }
    const faultEnded = Date.now();
    await drainAndCheck(world, {
      case: 'redis-cluster-slot-migration',
      events,
      tags,
      faults: `${moved} slots (shop.version.products/global, shop.tag.products) migrated`,
      faultEnded,
      publishing,
    });
    expect(await seen.stop()).toEqual([]);
  });
});

describe('fills and purges racing on a Redis Cluster', () => {
  let world: World;
  const opened: { client?: CacheClient; redis: Cluster }[] = [];

  /** A web server: its own Cluster connection with the service's prefix, and a client on it. */
  async function webServer(): Promise<CacheClient> {
    const redis = new Cluster(clusterNodes(REDIS_CLUSTER_NODES ?? ''), {
      keyPrefix: world.env.redisPrefix,
      redisOptions: REDIS_SECURITY,
    });
    const server: (typeof opened)[number] = { redis };
    opened.push(server);
    server.client = await CacheClient.connect({ redis, versionMemoMs: 5 });
    return server.client;
  }

  beforeEach(async () => {
    world = await World.create('rrace', 1);
  });

  afterEach(async () => {
    for (const { client, redis } of opened.splice(0)) {
      await client?.close();
      redis.disconnect();
    }
    await world?.close();
  });

  it('a purge never drops a membership a concurrent fill added: every stored key stays in its tag set, none stale', async () => {
    const tag = 'product:hot';
    const keys = Array.from({ length: 8 }, (_, i) => `page:hot:${i}`);
    const clients = [await webServer(), await webServer(), await webServer()];
    const purger = new TagPurger(world.redis);
    const deadline = Date.now() + 6000;
    let purges = 0;
    // The service's order: the version is published, then the tag purged.
    const purging = (async () => {
      while (Date.now() < deadline) {
        await world.redis.set(versionKey('products'), JSON.stringify({ version: purges + 1 }));
        await purger.purge([tag]);
        purges++;
      }
    })();
    const filling = clients.flatMap((client) =>
      keys.map(async (key) => {
        while (Date.now() < deadline) {
          await client.remember(key, { tags: [tag], ttl: 300, types: ['products'] }, async () => ({
            key,
            at: Date.now(),
          }));
          await new Promise((r) => setImmediate(r));
        }
      }),
    );
    await Promise.all([purging, ...filling]);

    const current = parseVersion(await world.redis.get(versionKey('products')));
    const member = (key: string) => `${world.env.redisPrefix}${key}`;
    const untagged: string[] = [];
    const stale: string[] = [];
    for (const key of keys) {
      const bytes = await world.redis.getBuffer(key);
      if (!bytes) continue;
      if ((await world.redis.sismember(tagKey(tag), member(key))) !== 1) untagged.push(key);
      if (decodeHeader(bytes).versions.products !== current) stale.push(key);
    }
    const stats = clients.map((c) => c.stats());
    const sum = (what: 'misses' | 'staleFillsRejected') => stats.reduce((n, s) => n + s[what], 0);
    console.log(
      `cluster purge race: ${purges} purges, ${sum('misses')} fills, ${sum('staleFillsRejected')} refused; untagged ${untagged.length}, stale ${stale.length} of ${keys.length} keys`,
    );
    expect(purges).toBeGreaterThan(50);
    expect(sum('misses')).toBeGreaterThan(purges);
    expect({ untagged, stale }).toEqual({ untagged: [], stale: [] });
  });
});

/** CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE of every key, then SETSLOT NODE on all masters. */
function migrateSlot(from: ClusterNode, to: ClusterNode, slot: number): void {
  redisCli(to.port, 'cluster', 'setslot', String(slot), 'importing', from.id);
  redisCli(from.port, 'cluster', 'setslot', String(slot), 'migrating', to.id);
  for (;;) {
    const keys = redisCli(from.port, 'cluster', 'getkeysinslot', String(slot), '100')
      .split('\n')
      .filter(Boolean);
    if (keys.length === 0) break;
    redisCli(
      from.port,
      'migrate',
      '127.0.0.1',
      String(to.port),
      '',
      '0',
      '5000',
      'REPLACE',
      'KEYS',
      ...keys,
    );
  }
  for (const node of [to, from]) {
    redisCli(node.port, 'cluster', 'setslot', String(slot), 'node', to.id);
  }
}

/**
 * Samples shop.version.* while the fault runs: any type seen at a lower version than before is
 * reported (a reader must never see a version go backwards).
 */
function watchVersions(world: World) {
  const highest = new Map<string, number>();
  const backwards: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const type of ['products', 'categories', 'global']) {
        try {
          const raw = await world.redis.get(`shop.version.${type}`);
          if (!raw) continue;
          const version = (JSON.parse(raw) as { version: number }).version;
          if (version < (highest.get(type) ?? 0)) {
            backwards.push(`${type}: ${highest.get(type)} -> ${version}`);
          }
          highest.set(type, Math.max(version, highest.get(type) ?? 0));
        } catch {
          // The slot is failing over or moving: read again next round.
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return backwards;
    },
  };
}
