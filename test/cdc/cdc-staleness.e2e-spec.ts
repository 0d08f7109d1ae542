import { randomUUID } from 'node:crypto';
import mysql, { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { ServiceProcess } from '../support/service-process';
import { RaceResult, expectNoStaleness, stalenessRace } from '../support/staleness-race';
import { VersionAnnouncements } from '../support/version-announcements';
import { World } from '../support/world';
import { CATALOG, TOPIC, drained, requireCdcStack, topicEnd, mappingFile } from './cdc-support';

const PHASE_MS = Number(process.env.TEST_STALENESS_PHASE_MS ?? 8000);
/** Two, as in the contract race: a row changes again while fills of its last change run. */
const PRODUCTS = 2;
/**
 * Longer than the contract race's 250 ms: here a change reaches its purge through Debezium
 * (commit → binlog → topic → saga, about 0.2 s), and a fill must be able to outlast that.
 */
const FILL_DELAY_MS = 1000;
const TABLE = 'spec_stale_items';

/**
 * The race of test/support/staleness-race.ts with a writer that only commits SQL to the catalog:
 * no one publishes an event but Debezium. Readers read the row from the catalog and fill through
 * libs/client, as a web tier does.
 */
describe('the client never serves a value older than a committed change, invalidated by CDC', () => {
  let world: World;
  let service: ServiceProcess;
  let writer: Connection;
  let pool: Pool;
  let announcements: VersionAnnouncements;
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    await requireCdcStack();
    writer = await mysql.createConnection(CATALOG);
    await writer.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (id VARCHAR(64) PRIMARY KEY, revision INT NOT NULL)`,
    );
    pool = mysql.createPool({ ...CATALOG, connectionLimit: 8 });
    world = await World.create('cdc-staleness');
    const mapping = mappingFile({
      topics: [TOPIC(TABLE)],
      tables: { [`example_shop.${TABLE}`]: { event: 'ProductUpdated', id: 'id' } },
    });
    service = await ServiceProcess.start(world.env, { CDC_MAPPING_FILE: mapping });
    announcements = await VersionAnnouncements.listen(world.redis);
    // The service's new group reads the topic's history (earlier runs' changes) first.
    await drained(world, TOPIC(TABLE));
  });

  afterAll(async () => {
    await announcements?.close();
    await service?.stop();
    await world?.close();
    await pool?.end();
    await writer?.end();
  });

  const revisionOf = async (id: string) => {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT revision FROM ${TABLE} WHERE id = ?`, [
      id,
    ]);
    return Number(rows[0].revision);
  };

  async function runPhase(name: string, versionCheck: boolean): Promise<RaceResult> {
    const ids = Array.from({ length: PRODUCTS }, (_, i) => `${run}-${name}-${i + 1}`);
    const end = await topicEnd(world, TOPIC(TABLE));
    await writer.query(`INSERT INTO ${TABLE} (id, revision) VALUES ?`, [ids.map((id) => [id, 1])]);
    // The inserts' own bumps are announced before the race, not taken for its first change's.
    await drained(world, TOPIC(TABLE), end + ids.length);
    return stalenessRace(world, {
      ids,
      versionCheck,
      phaseMs: PHASE_MS,
      fillDelayMs: FILL_DELAY_MS,
      read: revisionOf,
      change: async (id) => {
        // Taken before the commit: Debezium may announce the change before the UPDATE returns.
        const before = await announcements.products();
        await writer.query(`UPDATE ${TABLE} SET revision = revision + 1 WHERE id = ?`, [id]);
        const revision = await revisionOf(id);
        // The only writer: the next announcement past `before` is this change's.
        return { version: await announcements.waitProductsAbove(before), revision };
      },
      drained: () => drained(world, TOPIC(TABLE)),
    });
  }

  it('0 stale with the version check, stale reads without it, in the same run', async () => {
    const checked = await runPhase('on', true);
    const unchecked = await runPhase('off', false);
    // Fewer reads than the contract race's 500: with fills of up to 1 s (refused ones read
    // again), 18 readers make about 2 reads a second each at the least.
    expectNoStaleness('cdc staleness', checked, unchecked, PRODUCTS, 100);
  });
});
