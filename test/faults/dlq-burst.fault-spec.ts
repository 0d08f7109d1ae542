import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes } from 'kafkajs';
import { reportFigures } from '../support/fault-kit';
import { productUpdated } from '../support/events';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

/** The DLQ topic refuses record batches over this: far below a burst's letters sent at once. */
const DLQ_MAX_MESSAGE_BYTES = 64 * 1024;
const BURST = 500;
const OVERSIZED_BYTES = 200 * 1024;

describe('a burst of dead letters larger than the broker accepts in one request', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('dlqburst', 1);
    await world.admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: world.env.topics.dlq,
          configEntries: [{ name: 'max.message.bytes', value: String(DLQ_MAX_MESSAGE_BYTES) }],
        },
      ],
    });
    service = await ServiceProcess.start(world.env, {
      LOCK_RETRY_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('every dead letter reaches the DLQ and the partition moves on to the valid event behind them', async () => {
    // Incompressible values (~2.6 KB of base64 noise), all on one key: one partition, in order.
    const oversized = { key: 'burst', value: randomBytes(OVERSIZED_BYTES).toString('base64') };
    const burst = Array.from({ length: BURST }, () => ({
      key: 'burst',
      value: randomBytes(1950).toString('base64'),
    }));
    const valid = productUpdated({ productId: 'burst' });
    const started = Date.now();
    await world.publish([oversized]);
    // The test's own producer keeps each request under the source topic's limit.
    for (let i = 0; i < burst.length; i += 100) await world.publish(burst.slice(i, i + 100));
    await world.publish([{ key: 'burst', value: JSON.stringify(valid) }]);

    await world.waitApplied([valid.eventId], BURST + 2);
    const appliedMs = Date.now() - started;
    const letters = await waitFor(
      `${BURST + 1} dead letters`,
      async () => {
        const found = await world.dlqMessages();
        return found.length >= BURST + 1 && found;
      },
      60000,
      1000,
    );

    expect(letters).toHaveLength(BURST + 1);
    const offsets = new Set(letters.map((l) => l.headers['x-original-offset']));
    expect(offsets.size).toBe(BURST + 1);
    const byOffset = new Map(letters.map((l) => [l.headers['x-original-offset'], l]));
    // The oversized one could not travel even alone: its letter carries headers only.
    expect(byOffset.get('0')?.headers).toMatchObject({
      'x-original-size': String(Buffer.byteLength(oversized.value)),
      'x-value-truncated': 'true',
    });
    expect(byOffset.get('0')?.value).toBe('');
    // Letters that fit keep their whole value.
    expect(byOffset.get('1')?.value).toBe(burst[0].value);
    expect(byOffset.get('1')?.headers['x-value-truncated']).toBeUndefined();
    expect(await service.metric('invalidator_dead_letters_total')).toBe(BURST + 1);
    expect(await service.metric('invalidator_dead_letter_refusals_total')).toBeGreaterThan(0);
    expect(
      await service.metric('invalidator_alerts_total', { kind: 'dead_letter_refused' }),
    ).toBeGreaterThan(0);
    reportFigures({
      case: 'dlq-burst',
      events: BURST + 2,
      bad: BURST + 1,
      faults: `${BURST} ~2.6 KB dead letters on one key + one ~270 KB, DLQ max.message.bytes ${DLQ_MAX_MESSAGE_BYTES}`,
      drainMs: appliedMs,
      dlq: letters.length,
    });
  });
});
