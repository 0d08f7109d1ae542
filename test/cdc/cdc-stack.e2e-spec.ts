import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Connection, RowDataPacket } from 'mysql2/promise';
import { KAFKA_BROKERS, waitFor } from '../support/test-env';
import { CONNECT_URL, TOPIC, catalogTables, requireCdcStack } from './cdc-support';

/** The versions scripts/cdc/pom.xml pins (the one place they are written). */
function pinned(property: string): string {
  const pom = readFileSync(join(__dirname, '../../scripts/cdc/pom.xml'), 'utf8');
  const value = new RegExp(`<${property}>([^<]+)</${property}>`).exec(pom)?.[1];
  if (!value) throw new Error(`scripts/cdc/pom.xml has no <${property}>`);
  return value;
}

async function kafkaTopics(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

async function connect<T>(path: string): Promise<T> {
  const res = await fetch(`${CONNECT_URL}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The traps met when Debezium's MySQL connector was first run here against MariaDB (README
 * "Change data capture"), each checked on the running stack so that it cannot come back
 * unnoticed: the catalog's version string and binlog checksum, Connect's runtime version, the
 * connector's settings, and DECIMAL columns arriving as strings.
 */
describe('the change-data-capture stack as scripts/cdc.sh builds it', () => {
  let db: Connection;

  beforeAll(async () => {
    await requireCdcStack();
    db = await catalogTables();
  });

  afterAll(async () => {
    await db?.end();
  });

  it('the catalog reports a MySQL-style 5.5.5- version and no binlog checksum, with a ROW binlog of full images', async () => {
    // MariaDB's own version string reads as MySQL >= 8.4 to the connector (its registration
    // fails), and with CRC32 checksums its GTID events break the stream after a restart.
    const [[server]] = await db.query<RowDataPacket[]>(
      'SELECT @@version AS version, @@binlog_checksum AS checksum, @@log_bin AS logBin, ' +
        '@@binlog_format AS format, @@binlog_row_image AS image',
    );
    expect(server).toEqual({
      version: expect.stringMatching(/^5\.5\.5-/),
      checksum: 'NONE',
      logBin: 1,
      format: 'ROW',
      image: 'FULL',
    });
  });

  it("Connect runs on the runtime the pom pins (Debezium's own Kafka), with the pinned connector", async () => {
    // On connect-runtime 4.4.0 the task of Debezium 3.6.1 dies on a moved class.
    expect((await connect<{ version: string }>('/')).version).toBe(pinned('kafka.version'));
    const plugins = await connect<{ class: string; version: string }[]>('/connector-plugins');
    expect(plugins).toContainEqual(
      expect.objectContaining({
        class: 'io.debezium.connector.mysql.MySqlConnector',
        version: pinned('debezium.version'),
      }),
    );
  });

  it('the connector runs with the settings of scripts/cdc/connector.json', async () => {
    const config = await connect<Record<string, string>>('/connectors/catalog/config');
    const file = JSON.parse(
      readFileSync(join(__dirname, '../../scripts/cdc/connector.json'), 'utf8'),
    ) as Record<string, string>;
    // The settings without a placeholder (the host-specific ones are filled in by cdc.sh).
    const fixed = Object.fromEntries(Object.entries(file).filter(([, v]) => !v.includes('${')));
    expect(config).toMatchObject(fixed);
    // The trap: without it DECIMAL arrives as base64.
    expect(config['decimal.handling.mode']).toBe('string');
  });

  it('a DECIMAL column arrives as a string, in an envelope without schemas', async () => {
    const id = `stack-${randomUUID().slice(0, 8)}`;
    const kafka = new Kafka({ brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `cdc-stack-${id}` });
    const seen: Record<string, unknown>[] = [];
    await consumer.connect();
    try {
      // Inserted first (Debezium creates the topic with its first change), then read from the
      // beginning (the topic's history is small): no race with the group's first fetch.
      await db.query('INSERT INTO spec_products VALUES (?, ?, ?, ?)', [id, 'n', '19.90', null]);
      await waitFor(
        'the topic',
        async () => (await kafkaTopics(kafka)).includes(TOPIC('spec_products')),
        30000,
      );
      await consumer.subscribe({ topic: TOPIC('spec_products'), fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          // Other specs write values that are not JSON here (cdc.e2e-spec's dead letters): a
          // throw would stop this reader at that message for good.
          try {
            if (message.value) seen.push(JSON.parse(message.value.toString()));
          } catch {
            // not an envelope
          }
        },
      });
      const mine = () => seen.find((v) => (v.after as { id?: string } | null)?.id === id);
      await waitFor('the insert on the topic', async () => mine() !== undefined, 30000);
      const envelope = mine() as { schema?: unknown; op: string; after: { price: unknown } };
      expect(envelope.schema).toBeUndefined();
      expect(envelope.op).toBe('c');
      expect(envelope.after.price).toBe('19.90');
    } finally {
      await consumer.disconnect();
      await db.query('DELETE FROM spec_products WHERE id = ?', [id]);
    }
  });
});
