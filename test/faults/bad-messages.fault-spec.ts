import { randomUUID } from 'node:crypto';
import { ServiceProcess } from '../support/service-process';
import {
  expectOracle,
  mixedLoad,
  publishInBackground,
  reportFigures,
  seedTags,
  waitDrained,
} from '../support/fault-kit';
import { productUpdated } from '../support/events';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

type Raw = { key: string; value: string | Buffer };

/** 1,000 bad messages, 200 of each kind the service can meet, the last kind including poison. */
function badMessages(poisonIds: string[]): Raw[] {
  const base = () => productUpdated({ productId: 'bad' });
  const kinds: ((i: number) => Raw)[] = [
    (i) => ({ key: `nj${i}`, value: `{"eventId": ${i}, oops` }),
    (i) => ({ key: `sv${i}`, value: JSON.stringify({ ...base(), action: 'renamed' }) }),
    (i) => ({ key: `ut${i}`, value: JSON.stringify({ ...base(), type: 'StockChanged' }) }),
    (i) => ({
      key: `os${i}`,
      value: JSON.stringify({ ...base(), padding: 'x'.repeat(66 * 1024) }),
    }),
    (i) => {
      if (i < poisonIds.length)
        return {
          key: `po${i}`,
          value: JSON.stringify(productUpdated({ productId: `poison${i}`, eventId: poisonIds[i] })),
        };
      return { key: `em${i}`, value: '' };
    },
  ];
  return kinds.flatMap((make) => Array.from({ length: 200 }, (_, i) => make(i)));
}

describe('bad messages interleaved with good ones', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('bad');
    service = await ServiceProcess.start(world.env, {
      LOCK_RETRY_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('1,000 bad (every kind, poison included) among 5,000 good: each bad one in the DLQ once, every good one applied', async () => {
    const poisonIds = Array.from({ length: 5 }, () => randomUUID());
    await world.poison(poisonIds);
    const good = mixedLoad(5000, 'g');
    const bad = badMessages(poisonIds);
    const tags = await seedTags(world, good);
    // Interleave: one bad message after every five good ones, all on the product topic.
    const products = good.filter((e) => e.type === 'ProductUpdated');
    const categories = good.filter((e) => e.type === 'CategoryUpdated');
    const mixed: Raw[] = [];
    products.forEach((e, i) => {
      mixed.push({ key: String(e.productId), value: JSON.stringify(e) });
      if (i % 5 === 4 && bad.length > 0) mixed.push(bad.shift() as Raw);
    });
    mixed.push(...bad.splice(0));
    const started = Date.now();
    await Promise.all([publishInBackground(world, mixed, 200, 10), world.publish(categories)]);

    const ids = good.map((e) => e.eventId);
    await waitDrained(world, ids);
    await waitFor(
      '1,000 dead letters',
      async () => (await world.dlqMessages()).length >= 1000,
      120000,
      1000,
    );
    const drainMs = Date.now() - started;

    await expectOracle(world, ids, 1000, tags);
    const letters = await world.dlqMessages();
    const reasons = letters.map((l) => l.headers['x-error-reason']);
    expect(reasons.filter((r) => r.startsWith('not JSON'))).toHaveLength(200);
    expect(reasons.filter((r) => r.startsWith('schema violation: action'))).toHaveLength(200);
    expect(reasons.filter((r) => r.startsWith('unknown type: "StockChanged"'))).toHaveLength(200);
    expect(reasons.filter((r) => r.includes('over the 65536 byte limit'))).toHaveLength(200);
    expect(reasons.filter((r) => r === 'empty message value')).toHaveLength(195);
    expect(reasons.filter((r) => r.startsWith('poison:'))).toHaveLength(5);
    for (const letter of letters.slice(0, 50)) {
      expect(letter.headers).toMatchObject({
        'x-original-topic': world.env.topics.product,
        'kafka_dlt-original-topic': world.env.topics.product,
        'x-consumer-group': world.env.groupId,
      });
      expect(letter.headers['x-original-offset']).toMatch(/^\d+$/);
      expect(letter.headers['x-original-timestamp']).toMatch(/^\d+$/);
    }
    expect(await service.metric('invalidator_dead_letters_total')).toBe(1000);
    expect(await service.metric('invalidator_dead_letters_total', { reason: 'poison' })).toBe(5);
    reportFigures({
      case: 'bad-messages',
      events: 6000,
      bad: 1000,
      faults: '1,000 bad messages (5 kinds, 5 poison) among 5,000 good',
      drainMs,
      dlq: letters.length,
    });
  });
});
