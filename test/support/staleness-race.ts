import { CacheClient, decodeEntry } from '@invalidator/client';
import { webRedis } from './test-env';
import { World } from './world';

const WEB_SERVERS = 3;
const READERS_PER_SERVER = 6;

export interface Product {
  id: string;
  revision: number;
}

/** One change of the race's only writer: its new revision, the products version announced. */
export interface AnnouncedChange {
  version: number;
  revision: number;
}

export interface RaceOptions {
  /** The products read and changed (their rows exist at revision 1). */
  ids: string[];
  versionCheck: boolean;
  /** The web servers' clients with the in-process tier on (libs/client local-tier.ts). */
  local?: boolean;
  phaseMs: number;
  /** Every fill waits up to this long between reading the source and storing: the race, forced. */
  fillDelayMs: number;
  /** A product's committed revision, read from its source as a web tier's fill does. */
  read: (id: string) => Promise<number>;
  /** Commits one change of a product and waits until it is announced (after its purge). */
  change: (id: string) => Promise<AnnouncedChange>;
  /** Waits until the stream has drained (each change is announced after its purge anyway). */
  drained?: () => Promise<void>;
}

export interface RaceResult {
  reads: number;
  staleReads: number;
  changes: number;
  rejectedFills: number;
  /** Reads answered by the clients' in-process tiers (0 without them). */
  localHits: number;
  /** Products whose cached value, once the race is over, is not their committed revision. */
  leftStale: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A product's floor for a read: the newest revision of the changes whose version the reader's
 * client had heard announced when the read began (1, the first revision, before any). A read
 * that returns less is stale. Shared with the soak's checker (test/soak/history.ts).
 */
export function announcedFloor(changes: readonly AnnouncedChange[], announced: number): number {
  return floorIndex(changes)(announced);
}

/** announcedFloor for many reads of one product: the changes sorted once, each read a search. */
export function floorIndex(changes: readonly AnnouncedChange[]): (announced: number) => number {
  const sorted = [...changes].sort((a, b) => a.version - b.version);
  const floors: number[] = [];
  for (const change of sorted) floors.push(Math.max(floors.at(-1) ?? 1, change.revision));
  return (announced) => {
    let low = 0;
    let high = sorted.length; // the first change with a version above `announced`
    while (low < high) {
      const mid = (low + high) >> 1;
      if (sorted[mid].version <= announced) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? 1 : floors[low - 1];
  };
}

/**
 * A web tier's fill with the race forced: the source read, then a wait of up to `delayMs`
 * before the client stores the value, so changes land between the read and the store.
 */
export function delayedFill<T>(read: () => Promise<T>, delayMs: number): () => Promise<T> {
  return async () => {
    const value = await read();
    await sleep(Math.random() * delayMs);
    return value;
  };
}

/**
 * One writer changes products while web servers read them through libs/client with every fill
 * delayed on purpose. A read is stale when it returns a revision older than one whose change was
 * visible to the reader's client (its version announced: written and its tags purged) when the
 * read began. Once the race is over (every change announced, so purged), each product's cached
 * value, if any, is compared with its committed revision.
 */
export async function stalenessRace(world: World, options: RaceOptions): Promise<RaceResult> {
  const { ids } = options;
  /** Each product's announced changes: the products version announced with each revision. */
  const changes = new Map<string, AnnouncedChange[]>(ids.map((id) => [id, []]));
  const floorOf = (id: string, announced: number) =>
    announcedFloor(changes.get(id) ?? [], announced);
  const connections = Array.from({ length: WEB_SERVERS }, () => webRedis(world.env.redisPrefix));
  const clients = await Promise.all(
    connections.map((redis) =>
      CacheClient.connect({
        redis,
        versionCheck: options.versionCheck,
        local: options.local ? { maxEntries: 1000, maxBytes: 1 << 20 } : undefined,
      }),
    ),
  );
  const result: RaceResult = {
    reads: 0,
    staleReads: 0,
    changes: 0,
    rejectedFills: 0,
    localHits: 0,
    leftStale: 0,
  };
  const until = Date.now() + options.phaseMs;

  const fill = (id: string) =>
    delayedFill(
      async (): Promise<Product> => ({ id, revision: await options.read(id) }),
      options.fillDelayMs,
    );

  const reader = async (client: CacheClient) => {
    while (Date.now() < until) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const { announced } = await client.versions();
      const floor = floorOf(id, announced.products ?? 0);
      const product = await client.remember(
        `product:${id}`,
        { tags: [`product:${id}`], ttl: 60, types: ['products'] },
        fill(id),
      );
      result.reads += 1;
      if (product.revision < floor) result.staleReads += 1;
      await sleep(2);
    }
  };

  const writer = async () => {
    for (let n = 0; Date.now() < until; n++) {
      const id = ids[n % ids.length];
      changes.get(id)?.push(await options.change(id));
      result.changes += 1;
      await sleep(Math.random() * 50);
    }
  };

  await Promise.all([
    writer(),
    ...clients.flatMap((client) =>
      Array.from({ length: READERS_PER_SERVER }, () => reader(client)),
    ),
  ]);
  for (const client of clients) {
    result.rejectedFills += client.stats().staleFillsRejected;
    result.localHits += client.stats().localHits;
    await client.close();
  }
  for (const redis of connections) await redis.quit();
  await options.drained?.();
  for (const id of ids) {
    const cached = await world.redis.getBuffer(`product:${id}`);
    if (cached && decodeEntry<Product>(cached).value.revision !== (await options.read(id)))
      result.leftStale += 1;
  }
  return result;
}

/**
 * The race's figures logged, and its guarantee asserted: with the check no stale read and no
 * value left stale; without it (the control) stale reads, so the race can see staleness.
 * `minReads`: what the spec's readers make at the least (fewer means the race did not run).
 */
export function expectNoStaleness(
  label: string,
  checked: RaceResult,
  unchecked: RaceResult,
  products: number,
  minReads: number,
): void {
  console.log(
    `${label}: with the check ${checked.reads} reads, ${checked.staleReads} stale, ` +
      `${checked.rejectedFills} fills refused, ${checked.changes} changes, ` +
      `${checked.leftStale} of ${products} left stale; ` +
      `without it ${unchecked.reads} reads, ${unchecked.staleReads} stale, ` +
      `${unchecked.changes} changes, ${unchecked.leftStale} of ${products} left stale`,
  );
  expect(checked.changes).toBeGreaterThan(10);
  expect(unchecked.changes).toBeGreaterThan(10);
  expect(checked.reads).toBeGreaterThan(minReads);
  expect(unchecked.reads).toBeGreaterThan(minReads);
  expect(checked.rejectedFills).toBeGreaterThan(0);
  expect(checked.staleReads).toBe(0);
  expect(checked.leftStale).toBe(0);
  // The values left stale without the check are a figure, not asserted: whether a fill is
  // still in flight after the last change is chance.
  expect(unchecked.staleReads).toBeGreaterThan(0);
}
