import { randomUUID } from 'node:crypto';
import { Connection } from 'mysql2/promise';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';
import { TOPIC, catalogTables, mappingFile, requireCdcStack } from './cdc-support';

describe('change data capture (catalog MariaDB → Debezium → Kafka → the service)', () => {
  let world: World;
  let service: ServiceProcess;
  let db: Connection;
  const run = randomUUID().slice(0, 8);
  const id = (n: number | string) => `${run}-${n}`;

  beforeAll(async () => {
    await requireCdcStack();
    db = await catalogTables();
    world = await World.create('cdc');
    service = await ServiceProcess.start(world.env, { CDC_MAPPING_FILE: mappingFile() });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
    await db?.end();
  });

  const purged = (tag: string) =>
    waitFor(`purge of ${tag}`, async () => !(await world.exists(`shop.tag.${tag}`)), 5000);

  it('an UPDATE bumps products and purges product:<id> within 5 s; a category move purges both', async () => {
    const p = id('p1');
    await db.query('INSERT INTO spec_products VALUES (?, ?, ?, ?)', [p, 'a', '1.00', '7']);
    await waitFor('the first insert', async () => (await world.versions()).products > 0, 15000);
    // The service's new group reads the topics' history first (earlier runs' changes): wait
    // until it has caught up, so that the one bump counted below is this UPDATE's.
    let before = await world.versions();
    for (let stable = 0; stable < 2;) {
      await new Promise((r) => setTimeout(r, 1500));
      const now = await world.versions();
      stable = now.products === before.products ? stable + 1 : 0;
      before = now;
    }
    await world.tag(`product:${p}`, ['page:p']);
    await world.tag('category:7', ['page:c7']);
    await world.tag('category:9', ['page:c9']);
    const started = Date.now();
    await db.query('UPDATE spec_products SET category_id = ? WHERE id = ?', ['9', p]);
    await purged(`product:${p}`);
    console.log(`cdc: UPDATE purged in ${Date.now() - started} ms`);
    await purged('category:7');
    await purged('category:9');
    expect((await world.versions()).products).toBe(before.products + 1);
  });

  it('a DELETE purges, a 100-row transaction is applied whole, a pivot row purges both', async () => {
    const p = id('p1');
    await world.tag(`product:${p}`, ['page:p']);
    await db.query('DELETE FROM spec_products WHERE id = ?', [p]);
    await purged(`product:${p}`);

    // A batch bumps a version once however many events it holds: the ledger counts each.
    const before = await world.inboxCount();
    const ids = Array.from({ length: 100 }, (_, i) => id(`bulk${i}`));
    for (const b of ids) await world.tag(`product:${b}`, [`page:${b}`]);
    await db.beginTransaction();
    for (const b of ids)
      await db.query('INSERT INTO spec_products VALUES (?, ?, ?, NULL)', [b, 'b', '2.50']);
    await db.commit();
    for (const b of ids) await purged(`product:${b}`);
    await waitFor('100 ledger rows', async () => (await world.inboxCount()) >= before + 100, 5000);

    await world.tag(`product:${id('pv')}`, ['page:pv']);
    await world.tag('category:c-pv', ['page:cpv']);
    await db.query('INSERT INTO spec_product_categories VALUES (?, ?)', [id('pv'), 'c-pv']);
    await purged(`product:${id('pv')}`);
    await purged('category:c-pv');
    await world.tag(`product:${id('pv')}`, ['page:pv']);
    await db.query('DELETE FROM spec_product_categories WHERE product_id = ?', [id('pv')]);
    await purged(`product:${id('pv')}`);
  });

  it('dead-letters an unmapped table, skips a tombstone and a snapshot read, finds an event by its id', async () => {
    const source = {
      name: 'catalog',
      db: 'example_shop',
      file: 'spec',
      pos: 1,
      row: 0,
      ts_ms: Date.now(),
    };
    const topic = TOPIC('spec_products');
    const before = await world.versions();
    await world.publish(
      [
        {
          key: '1',
          value: JSON.stringify({
            op: 'c',
            before: null,
            after: { id: id('orders') },
            source: { ...source, table: 'orders' },
          }),
        },
        { key: '2', value: Buffer.alloc(0) },
        {
          key: '3',
          value: JSON.stringify({
            op: 'r',
            before: null,
            after: { id: id('snap') },
            source: { ...source, table: 'spec_products' },
          }),
        },
      ],
      topic,
    );
    await waitFor(
      'the dead letter',
      async () => (await world.dlqMessages()).some((m) => m.value.includes(id('orders'))),
      10000,
    );
    const letters = await world.dlqMessages();
    expect(letters.filter((m) => m.value.includes(id('orders')))).toHaveLength(1);
    console.log('cdc: dead letter headers', JSON.stringify(letters[0].headers));
    await waitFor(
      'skips counted',
      async () => {
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        return (
          /invalidator_cdc_skipped_total\{reason="tombstone"\} [1-9]/.test(metrics) &&
          /invalidator_cdc_skipped_total\{reason="snapshot"\} [1-9]/.test(metrics)
        );
      },
      10000,
    );
    expect((await world.versions()).products).toBe(before.products);

    const eventId = (await world.appliedEvents())[0].eventId;
    const res = await fetch(`${service.url}/events/${eventId}`);
    expect(res.status).toBe(200);
  });
});
