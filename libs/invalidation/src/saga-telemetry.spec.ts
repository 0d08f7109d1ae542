import { Registry } from 'prom-client';
import type { PinoLogger } from 'nestjs-pino';
import { AlertService, InvalidatorMetrics, SagaStats } from '@invalidator/monitoring';
import { fakeConfig } from '../../../test/support/saga-fakes';
import { IncomingMessage } from './incoming-batch';
import { SagaTelemetry } from './saga-telemetry';
import { AppliedIds, SagaReport, ValidEvent, validEvent } from './saga-work';

const message = (offset: number): IncomingMessage => ({
  topic: 'shop.events',
  partition: 0,
  offset: String(offset),
  key: null,
  value: null,
  timestamp: '0',
});
const event = (n: number, type: ValidEvent['type']): ValidEvent =>
  validEvent(message(n), type, `id-${n}`, undefined, undefined, () => {
    throw new Error('not parsed again here');
  });

describe(SagaTelemetry.name, () => {
  it('counts each event by type and outcome, runs of a type and types interleaved alike', async () => {
    const registry = new Registry();
    const metrics = new InvalidatorMetrics(registry);
    const logger = { info: () => undefined, warn: () => undefined } as unknown as PinoLogger;
    const telemetry = new SagaTelemetry(
      fakeConfig(),
      metrics,
      new SagaStats(),
      { raise: async () => undefined } as unknown as AlertService,
      logger,
    );
    const types = ['ProductUpdated', 'ProductUpdated', 'CategoryUpdated', 'ProductUpdated'];
    const valid = Array.from({ length: 12 }, (_, i) =>
      event(i, types[i % 4] as ValidEvent['type']),
    );
    // All but two applied (ids 5 and 6: a product's and a category's, done before).
    const applied = valid.map((v) => v.eventId).filter((id) => id !== 'id-5' && id !== 'id-6');
    const report = {
      path: 'lock',
      dataTypes: ['products'],
      appliedEventIds: new AppliedIds(applied),
      invalidatedKeys: 0,
      versions: [],
      lockWaitMs: 0,
      stages: telemetry.stageClock(),
    } as unknown as SagaReport;
    const copies = [event(0, 'ProductUpdated'), event(2, 'CategoryUpdated')];

    telemetry.completed(
      report,
      { events: valid, deadLettered: [], appliedAlone: new Set() },
      copies,
      0,
    );

    const counted = (await registry.getSingleMetric('invalidator_events_total')?.get())?.values;
    const byLabels = Object.fromEntries(
      (counted ?? []).map((v) => [`${v.labels.type} ${v.labels.outcome}`, v.value]),
    );
    expect(byLabels).toEqual({
      'ProductUpdated applied': 8,
      'ProductUpdated duplicate': 2,
      'CategoryUpdated applied': 2,
      'CategoryUpdated duplicate': 2,
    });
  });
});
