import calculateSlot from 'cluster-key-slot';
import Redis, { Cluster } from 'ioredis';

/** The service's Redis: one server (`REDIS_URL`) or a Redis Cluster (`REDIS_CLUSTER_NODES`). */
export type RedisClient = Redis | Cluster;

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * The hash slot of a key as the server sees it (with the client's key prefix). On one server
 * every key is in "slot 0": grouping by slot then gives one group, one round trip.
 */
export function slotOf(client: RedisClient, key: string): number {
  if (!isCluster(client)) return 0;
  return calculateSlot(`${client.options.keyPrefix ?? ''}${key}`);
}

const SLOTS = 16384;
let slotHashTags: string[] | undefined;

/**
 * A key named `name(hashTag)` in the slot of `key`, for a script that must touch both (one
 * script may touch one slot only). The names' hash tag is `{n}`, with the smallest n that lands
 * in the slot (a table computed once); a key prefix with braces of its own is searched through.
 */
export function keyInSlotOf(
  client: RedisClient,
  key: string,
  name: (hashTag: string) => string,
): string {
  const slot = slotOf(client, key);
  if (!slotHashTags) {
    const table = new Array<string>(SLOTS);
    for (let n = 0, left = SLOTS; left > 0; n++) {
      const at = calculateSlot(String(n));
      if (table[at] === undefined) {
        table[at] = String(n);
        left--;
      }
    }
    slotHashTags = table;
  }
  const named = name(slotHashTags[slot]);
  if (slotOf(client, named) === slot) return named;
  for (let n = 0; n < SLOTS * 64; n++) {
    const candidate = name(`s${n}`);
    if (slotOf(client, candidate) === slot) return candidate;
  }
  throw new Error(`no key named like ${name('…')} lands in slot ${slot} of ${key}`);
}

/**
 * Groups items by the slot of their key. A script or pipeline on a cluster may only touch keys
 * of one slot (ioredis refuses cross-slot pipelines, Redis answers CROSSSLOT to scripts).
 */
export function groupBySlot<T>(client: RedisClient, items: T[], keyOf: (item: T) => string) {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = slotOf(client, keyOf(item));
    const group = groups.get(slot);
    if (group) group.push(item);
    else groups.set(slot, [item]);
  }
  return [...groups.values()];
}

/**
 * How long a write on a cluster waits for one replica to acknowledge it (WAIT 1). A master
 * killed before its replica has a write would otherwise lose it on failover (replication is
 * asynchronous): a version key back to an older version, a purged tag set back whole. A WAIT
 * that fails (the master died) fails the saga step, which is retried on the new master; one
 * that times out (no replica up) lets the write stand as on a single Redis.
 */
export const REPLICA_ACK_TIMEOUT_MS = 100;

/** A reply that names another node for the key's slot: a failover or a slot migration. */
const isRedirect = (error: Error | null) =>
  error !== null && /^(MOVED|ASK|TRYAGAIN) /.test(error.message);

/** One command of execOnNodes: its first key, and the call that adds it to a pipeline. */
export interface NodeCommand {
  key: string;
  add: (pipeline: ReturnType<Cluster['pipeline']>) => void;
}

/**
 * Runs commands of many slots as one pipeline per node, the nodes in parallel: a cluster
 * pipeline may hold commands of every slot that one node serves (each command still within
 * one slot), so thousands of tag sets cost a round trip per master, not one per set. With
 * `replicated`, each node's commands end with WAIT on the same connection (REPLICA_ACK_TIMEOUT_MS).
 * A pipeline does not follow MOVED/ASK by itself when another of its commands (the WAIT)
 * succeeded: a command redirected (a failover, a slot migration) runs again on the refreshed
 * slot map; the others' replies stand, none runs twice. The replies, in the commands' order;
 * the first error is thrown.
 */
export async function execOnNodes(
  client: Cluster,
  commands: NodeCommand[],
  options: { replicated: boolean },
): Promise<unknown[]> {
  const replies = new Array<unknown>(commands.length);
  let pending = commands.map((_, i) => i);
  for (let attempt = 0; pending.length > 0; attempt++) {
    const byNode = new Map<string, number[]>();
    for (const i of pending) {
      const slot = slotOf(client, commands[i].key);
      // The slot map ioredis routes by; a slot it does not know yet goes alone.
      const node = client.slots[slot]?.join(',') ?? `slot ${slot}`;
      const group = byNode.get(node);
      if (group) group.push(i);
      else byNode.set(node, [i]);
    }
    const redirected: number[] = [];
    await Promise.all(
      [...byNode.values()].map(async (group) => {
        const pipeline = client.pipeline();
        for (const i of group) commands[i].add(pipeline);
        if (options.replicated) pipeline.wait(1, REPLICA_ACK_TIMEOUT_MS);
        const results = (await pipeline.exec()) ?? [];
        results.forEach(([error, value], k) => {
          if (isRedirect(error) && attempt < MAX_REDIRECTIONS && k < group.length)
            redirected.push(group[k]);
          else if (error) throw error;
          else if (k < group.length) replies[group[k]] = value;
        });
      }),
    );
    pending = redirected;
    if (pending.length > 0) await refreshSlots(client, attempt);
  }
  return replies;
}

const MAX_REDIRECTIONS = 8;

/** The slot map read again, then a pause that grows with the attempt (a migration settles). */
async function refreshSlots(client: Cluster, attempt: number): Promise<void> {
  await new Promise<void>((resolve) => client.refreshSlotsCache(() => resolve()));
  await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
}

/** The servers holding keys: the one server, or every master of the cluster (for SCAN). */
export function masters(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

export interface ClusterHealth {
  /** `cluster_state:ok`: every slot is served by a reachable master. */
  ok: boolean;
  /** Nodes (masters and replicas) the cluster reports. */
  nodes: number;
}

/** CLUSTER INFO of any node: ready only with all slots covered. Undefined on one server. */
export async function clusterHealth(client: RedisClient): Promise<ClusterHealth | undefined> {
  if (!isCluster(client)) return undefined;
  const info = await client.cluster('INFO');
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
  return {
    ok: field('cluster_state') === 'ok' && field('cluster_slots_ok') === '16384',
    nodes: Number(field('cluster_known_nodes') ?? 0),
  };
}
