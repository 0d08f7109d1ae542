import { Redis } from 'ioredis';
import { tagKey } from '@invalidator/client';
import { RedisClient, masters } from '@invalidator/redis';

/** Keys one SCAN step asks the server to look at. */
const SCAN_COUNT = 1000;
/** Tag names kept to draw from: the reservoir's size. */
export const TAG_RESERVOIR_SIZE = 1024;

/**
 * A bounded, slowly renewed random sample of the tag sets in Redis, for the staleness sampler.
 * Each refill advances a SCAN cursor per master by a given number of steps (COUNT 1000) and
 * keeps at most TAG_RESERVOIR_SIZE names (reservoir sampling over each pass of the keyspace):
 * memory and commands per refill stay flat however many tag sets the web tier keeps, and over
 * successive refills the cursors walk the whole keyspace. SCAN's order is the hash table's, not
 * the keys', so a partial pass is still an unbiased draw of tags.
 */
export class TagReservoir {
  private readonly tags: string[] = [];
  private readonly held = new Set<string>();
  private readonly cursors = new Map<string, string>();
  /** Tags the current pass has offered: the reservoir's denominator. */
  private passed = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  get size(): number {
    return this.tags.length;
  }

  /** Up to `steps` SCAN steps (Infinity: one full pass), never past a pass's end. */
  async refill(steps: number): Promise<void> {
    const servers = masters(this.redis);
    const done = new Set<Redis>();
    for (let step = 0; step < steps && done.size < servers.length; step++) {
      const server = servers[step % servers.length];
      if (done.has(server)) continue;
      const id = `${server.options.host ?? ''}:${server.options.port ?? ''}`;
      const [next, keys] = await server.scan(
        this.cursors.get(id) ?? '0',
        'MATCH',
        `${this.keyPrefix}${tagKey('*')}`,
        'COUNT',
        SCAN_COUNT,
      );
      for (const key of keys) this.offer(key.slice(this.keyPrefix.length));
      this.cursors.set(id, next);
      if (next === '0') {
        done.add(server);
        if (done.size === servers.length) this.passed = this.tags.length;
      }
    }
  }

  /** A random tag of the reservoir, if any. */
  draw(): string | undefined {
    return this.tags.length === 0 ? undefined : this.tags[random(this.tags.length)];
  }

  /** A tag found gone (purged, expired): no longer drawn. */
  forget(tag: string): void {
    if (!this.held.delete(tag)) return;
    const at = this.tags.indexOf(tag);
    this.tags[at] = this.tags[this.tags.length - 1];
    this.tags.pop();
  }

  private offer(tag: string): void {
    this.passed += 1;
    if (this.held.has(tag)) return;
    if (this.tags.length < TAG_RESERVOIR_SIZE) {
      this.tags.push(tag);
      this.held.add(tag);
      return;
    }
    const slot = random(this.passed);
    if (slot >= TAG_RESERVOIR_SIZE) return;
    this.held.delete(this.tags[slot]);
    this.tags[slot] = tag;
    this.held.add(tag);
  }
}

const random = (below: number) => Math.floor(Math.random() * below);
