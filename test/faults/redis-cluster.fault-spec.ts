import { execFileSync } from 'node:child_process';
import calculateSlot from 'cluster-key-slot';
import { ServiceProcess } from '../support/service-process';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { REDIS_CLUSTER_NODES, clusterNodes, waitFor } from '../support/test-env';
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
