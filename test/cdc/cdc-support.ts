import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumer } from 'kafkajs';
import { Connection, createConnection } from 'mysql2/promise';
import {
  CdcMapping,
  ChangeOutcome,
  InvalidEventError,
  convertChange,
  parseCdcMapping,
} from '@invalidator/contracts';
import { waitFor } from '../support/test-env';
import { World, createTopics } from '../support/world';

/** The catalog MariaDB of scripts/cdc.sh, its Debezium topic prefix and Connect's REST. */
export const CATALOG = { host: '127.0.0.1', port: 3308, user: 'root', database: 'example_shop' };
export const CONNECT_URL = 'http://127.0.0.1:8083';
export const TOPIC = (table: string) => `catalog.example_shop.${table}`;
export const TABLES = ['spec_products', 'spec_categories', 'spec_product_categories'];

/** Fails (never skips) when the CDC stack is not up; `hint` is appended to the message. */
export async function requireCdcStack(hint = ''): Promise<void> {
  const res = await fetch(`${CONNECT_URL}/connectors/catalog/status`).catch(() => undefined);
  const body = res?.ok
    ? ((await res.json()) as {
        connector?: { state?: string };
        tasks?: { state?: string; trace?: string }[];
      })
    : undefined;
  const where = `Kafka Connect ${CONNECT_URL}, connector catalog`;
  if (body?.connector?.state !== 'RUNNING' || !body.tasks?.length)
    throw new Error(
      `the CDC stack is not up (${where}): start it with \`npm run stack:up -- --cdc\`${hint}`,
    );
  // A FAILED task under a RUNNING connector captures nothing, and `up` does not restart it.
  const failed = body.tasks.find((t) => t.state !== 'RUNNING');
  if (failed) {
    const lines = failed.trace?.split('\n') ?? [];
    // The innermost cause that says something (the outer ones wrap it).
    const cause = lines.filter((l) => /^Caused by: \S+: /.test(l)).pop() ?? lines[0] ?? '';
    throw new Error(
      `the CDC connector's task is ${failed.state} (${where}; see its status and ` +
        `.stack/cdc/connect/connect.log): ${cause.slice(0, 300)}${hint}`,
    );
  }
}

/** The spec's own tables in example_shop, created afresh. */
export async function catalogTables(): Promise<Connection> {
  const db = await createConnection(CATALOG);
  await db.query(`CREATE TABLE IF NOT EXISTS spec_products (
    id VARCHAR(64) PRIMARY KEY, name VARCHAR(100), price DECIMAL(10,2), category_id VARCHAR(64) NULL)`);
  await db.query(
    'CREATE TABLE IF NOT EXISTS spec_categories (id VARCHAR(64) PRIMARY KEY, name VARCHAR(100))',
  );
  await db.query(`CREATE TABLE IF NOT EXISTS spec_product_categories (
    product_id VARCHAR(64), category_id VARCHAR(64), PRIMARY KEY (product_id, category_id))`);
  return db;
}

/** The specs' mapping: the three spec tables, as the example shop's are mapped. */
export const MAPPING = parseCdcMapping({
  topics: TABLES.map(TOPIC),
  tables: {
    'example_shop.spec_products': {
      event: 'ProductUpdated',
      id: 'id',
      categories: ['category_id'],
    },
    'example_shop.spec_categories': { event: 'CategoryUpdated', id: 'id' },
    'example_shop.spec_product_categories': {
      event: 'ProductUpdated',
      id: 'product_id',
      categories: ['category_id'],
    },
  },
});

/** A mapping file in a temp dir: the specs' tables unless another mapping is given. */
export function mappingFile(mapping: CdcMapping = MAPPING): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cdc-spec-')), 'mapping.json');
  writeFileSync(path, JSON.stringify(mapping));
  return path;
}

/** Changes applied: the ledger's entries (one per applied change, whatever saga took it). */
export async function appliedCount(world: World): Promise<number> {
  const [row] = await world.query<{ n: string | null }>(
    'SELECT SUM(event_count) AS n FROM applied_batches',
  );
  return Number(row.n ?? 0);
}

/** A count once nothing more arrives: the same twice, 3 s apart. */
export async function settle(count: () => Promise<number>): Promise<number> {
  let last = -1;
  let now = await count();
  while (now !== last) {
    await new Promise((r) => setTimeout(r, 3000));
    last = now;
    now = await count();
  }
  return now;
}

/** The ledger's count once nothing more arrives (the group replays the topics' history first). */
export const settledCount = (world: World): Promise<number> => settle(() => appliedCount(world));

/**
 * The changes of spec_products rows that Debezium wrote to its topic, read beside the service:
 * each row's distinct change ids by action, as the service derives them (convertChange), so a
 * redelivered change counts once here and the ledger can be counted for one spec's rows only,
 * whatever other writers change meanwhile.
 */
export class ProductChanges {
  private readonly byRow = new Map<string, Set<string>>();

  private constructor(
    private readonly world: World,
    private readonly groupId: string,
    private readonly consumer: Consumer,
  ) {}

  static async start(world: World): Promise<ProductChanges> {
    const groupId = `cdc-changes-${world.env.id}`;
    const changes = new ProductChanges(world, groupId, world.kafka.consumer({ groupId }));
    const { consumer } = changes;
    // On a new stack Debezium has not created the topic yet (it does with the table's first
    // change): created here as it would (one partition), else the subscription is refused.
    const topic = TOPIC('spec_products');
    await createTopics(world.admin, [topic], 1);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => changes.add(message.value) });
    return changes;
  }

  private add(value: Buffer | null): void {
    let outcome: ChangeOutcome;
    try {
      outcome = convertChange(value, MAPPING, 'skip');
    } catch (error) {
      // What the service dead-letters (cdc.e2e-spec's invalid rows) is no change of ours; a
      // throw here would stop this reader at that message for good.
      if (error instanceof InvalidEventError) return;
      throw error;
    }
    if (!('event' in outcome) || outcome.event.type !== 'ProductUpdated') return;
    const key = `${outcome.event.action}:${outcome.event.productId}`;
    this.byRow.set(key, (this.byRow.get(key) ?? new Set<string>()).add(outcome.event.eventId));
  }

  /** The distinct change ids of these rows' INSERTs (created) or UPDATEs seen so far. */
  of(rows: readonly string[], action: 'created' | 'updated'): string[] {
    return rows.flatMap((row) => [...(this.byRow.get(`${action}:${row}`) ?? [])]);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    const admin = this.world.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** The connector and all its tasks RUNNING (a task FAILED stays so until restarted by hand). */
export async function connectorRunning(): Promise<boolean> {
  const res = await fetch(`${CONNECT_URL}/connectors/catalog/status`);
  const body = (await res.json()) as {
    connector?: { state?: string };
    tasks?: { state: string }[];
  };
  return (
    body.connector?.state === 'RUNNING' &&
    (body.tasks ?? []).length > 0 &&
    (body.tasks ?? []).every((t) => t.state === 'RUNNING')
  );
}

/** How many change events `topic` holds (the sum of its partitions' end offsets). */
export async function topicEnd(world: World, topic: string): Promise<number> {
  const ends = await world.admin.fetchTopicOffsets(topic);
  return ends.reduce((sum, p) => sum + Number(p.high), 0);
}

/**
 * Waits until `topic` holds at least `events` change events and the service's group has
 * committed all it holds: each one purged (the group commits after the saga), earlier runs' too.
 */
export async function drained(world: World, topic: string, events = 0): Promise<void> {
  await waitFor(
    `the service through ${topic}`,
    async () => {
      const end = await topicEnd(world, topic);
      return end >= events && (await world.committedOffsets(topic)) === end;
    },
    60000,
  );
}
