import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Connection } from 'mysql2/promise';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';
import {
  appliedCount,
  catalogTables,
  mappingFile,
  requireCdcStack,
  settledCount,
} from './cdc-support';

jest.setTimeout(600000);

const CONNECT_PID = `${__dirname}/../../.stack/cdc/connect/connect.pid`;
const ROWS = 1000;

/**
 * Kafka Connect's worker SIGKILLed during 1,000 row changes, then the service SIGKILLed during
 * another 1,000: Connect delivers at least once (it replays from its last committed offset), the
 * ledger applies each change once. Counted in the ledger (one entry per applied change, however
 * many sagas carried them) and by the tag sets left: none may be.
 */
describe('change data capture under crashes', () => {
  let world: World;
  let service: ServiceProcess;
  let db: Connection;
  const mapping = mappingFile();
  const run = randomUUID().slice(0, 8);
  const ids = (round: number) =>
    Array.from({ length: ROWS }, (_, n) => `${run}-r${round}-${String(n).padStart(4, '0')}`);

  beforeAll(async () => {
    await requireCdcStack();
    db = await catalogTables();
    world = await World.create('cdc-crash');
    service = await ServiceProcess.start(world.env, { CDC_MAPPING_FILE: mapping });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
    await db?.end();
  });

  /** 1,000 rows inserted, their tags seeded, then 1,000 single-row UPDATEs with `fault` midway. */
  async function changeUnder(round: number, fault: () => Promise<void>): Promise<void> {
    const rows = ids(round);
    const start = await settledCount(world);
    await db.query('INSERT INTO spec_products (id, name, price, category_id) VALUES ?', [
      rows.map((id) => [id, 'n', '1.00', null]),
    ]);
    await waitFor(
      `the ${ROWS} inserts applied`,
      async () => (await appliedCount(world)) >= start + ROWS,
      120000,
    );
    const before = await settledCount(world);
    for (const id of rows) await world.tag(`product:${id}`, [`page:${id}`]);
    let faulted: Promise<void> | undefined;
    for (let n = 0; n < ROWS; n++) {
      await db.query('UPDATE spec_products SET price = price + 1 WHERE id = ?', [rows[n]]);
      if (n === ROWS / 4) faulted = fault();
    }
    await faulted;
    await waitFor(
      `all ${ROWS} changes in the ledger`,
      async () => (await appliedCount(world)) >= before + ROWS,
      240000,
    );
    // Exactly once: nothing more arrives (a replayed change would count again).
    expect((await settledCount(world)) - before).toBe(ROWS);
    const left: string[] = [];
    for (const id of rows) if (await world.exists(`shop.tag.product:${id}`)) left.push(id);
    expect(left).toEqual([]);
  }

  it("Kafka Connect's worker SIGKILLed mid-stream: every change applied once, no tag set left", async () => {
    await changeUnder(1, async () => {
      process.kill(Number(readFileSync(CONNECT_PID, 'utf8')), 'SIGKILL');
      await promisify(execFile)('bash', ['scripts/stack.sh', 'up', 'cdc'], { timeout: 240000 });
    });
  });

  it('the service SIGKILLed mid-stream: every change applied once, no tag set left', async () => {
    await changeUnder(2, async () => {
      await service.kill();
      service = await ServiceProcess.start(world.env, { CDC_MAPPING_FILE: mapping });
    });
  });
});
