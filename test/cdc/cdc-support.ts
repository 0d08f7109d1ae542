import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, createConnection } from 'mysql2/promise';
import type { CdcMapping } from '@invalidator/contracts';
import { waitFor } from '../support/test-env';
import type { World } from '../support/world';

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

/** The specs' mapping: their three tables. */
const SPEC_MAPPING: CdcMapping = {
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
};

/** A mapping file in a temp dir: the specs' tables unless another mapping is given. */
export function mappingFile(mapping: CdcMapping = SPEC_MAPPING): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cdc-spec-')), 'mapping.json');
  writeFileSync(path, JSON.stringify(mapping));
  return path;
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
