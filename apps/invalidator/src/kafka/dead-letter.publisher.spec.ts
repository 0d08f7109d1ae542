import { Kafka, KafkaJSProtocolError, Message, ProducerRecord } from 'kafkajs';
import { Registry } from 'prom-client';
import { parseConfig } from '@invalidator/config';
import { AlertService, InvalidatorMetrics } from '@invalidator/monitoring';
import { DeadLetter } from '@invalidator/invalidation';
import { DeadLetterPublisher } from './dead-letter.publisher';

const letter = (offset: number, valueBytes: number): DeadLetter => ({
  message: {
    topic: 'shop.product-updated',
    partition: 0,
    offset: String(offset),
    key: Buffer.from('k'),
    value: Buffer.alloc(valueBytes, 'x'),
    timestamp: '1700000000000',
  },
  kind: 'not_json',
  reason: 'not JSON',
});

const tooLarge = () =>
  new KafkaJSProtocolError(
    Object.assign(new Error('The request included a message larger than the max'), {
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
    }),
  );

const recordBytes = (m: Message) => (m.value ? Buffer.byteLength(m.value) : 0) + 300;

function setup(env: Record<string, string> = {}, limitBytes = Number.MAX_SAFE_INTEGER) {
  const sent: Message[][] = [];
  const producer = {
    connect: jest.fn<Promise<void>, []>().mockResolvedValue(undefined),
    disconnect: jest.fn<Promise<void>, []>().mockResolvedValue(undefined),
    send: jest.fn(async (record: ProducerRecord) => {
      const total = record.messages.reduce((sum, m) => sum + recordBytes(m), 0);
      if (total > limitBytes) throw tooLarge();
      sent.push(record.messages);
      return [];
    }),
  };
  const kafka = { producer: () => producer } as unknown as Kafka;
  const metrics = new InvalidatorMetrics(new Registry());
  const raise = jest.fn<Promise<void>, unknown[]>().mockResolvedValue(undefined);
  const alerts = { raise } as unknown as AlertService;
  const sut = new DeadLetterPublisher(kafka, parseConfig(env), metrics, alerts);
  return { sut, producer, sent, metrics, raise };
}

describe(DeadLetterPublisher.name, () => {
  it('a failed first connect does not poison later sends: the next publish connects again', async () => {
    const { sut, producer, sent } = setup();
    producer.connect.mockRejectedValueOnce(new Error('broker not reachable'));
    await expect(sut.publish([letter(1, 10)])).rejects.toThrow('broker not reachable');
    await sut.publish([letter(1, 10)]);
    expect(producer.connect).toHaveBeenCalledTimes(2);
    expect(sent.flat()).toHaveLength(1);
  });

  it('splits a burst into sends within KAFKA_DLQ_BATCH_BYTES, compressed, in order', async () => {
    const { sut, producer, sent } = setup({ KAFKA_DLQ_BATCH_BYTES: '65536' });
    await sut.publish(Array.from({ length: 100 }, (_, i) => letter(i, 2600)));
    expect(sent.length).toBeGreaterThan(3);
    for (const messages of sent) {
      expect(messages.reduce((s, m) => s + Buffer.byteLength(m.value ?? ''), 0)).toBeLessThan(
        65536,
      );
    }
    expect(sent.flat().map((m) => (m.headers ?? {})['x-original-offset'])).toEqual(
      Array.from({ length: 100 }, (_, i) => String(i)),
    );
    expect(producer.send.mock.calls[0][0].compression).toBeDefined();
  });

  it('caps the value copied into a letter, keeping the original size and marking the cut', async () => {
    const { sut, sent } = setup({ KAFKA_DLQ_MAX_VALUE_BYTES: '1000' });
    await sut.publish([letter(7, 5000), letter(8, 10)]);
    const [cut, whole] = sent.flat();
    expect(Buffer.byteLength(cut.value ?? '')).toBe(1000);
    expect(cut.headers).toMatchObject({ 'x-original-size': '5000', 'x-value-truncated': 'true' });
    expect(whole.headers).toMatchObject({ 'x-original-size': '10' });
    expect(whole.headers?.['x-value-truncated']).toBeUndefined();
  });

  it('a send the broker refuses as too large is split down to one letter, then its headers alone, with an alert', async () => {
    const { sut, sent, metrics, raise } = setup({}, 20000);
    await sut.publish([
      ...Array.from({ length: 20 }, (_, i) => letter(i, 2600)),
      letter(20, 50000),
    ]);
    const letters = sent.flat();
    expect(letters.map((m) => (m.headers ?? {})['x-original-offset'])).toEqual(
      Array.from({ length: 21 }, (_, i) => String(i)),
    );
    const last = letters[20];
    expect(last.value).toBeNull();
    expect(last.headers).toMatchObject({ 'x-original-size': '50000', 'x-value-truncated': 'true' });
    const refusals = await metrics.registry
      .getSingleMetric('invalidator_dead_letter_refusals_total')
      ?.get();
    expect(refusals?.values[0]).toMatchObject({ labels: { error: 'MESSAGE_TOO_LARGE' } });
    expect(raise).toHaveBeenCalledWith(expect.objectContaining({ kind: 'dead_letter_refused' }));
  });

  it('an error that is not a size refusal is left to the saga to retry', async () => {
    const { sut, producer } = setup();
    producer.send.mockRejectedValueOnce(new Error('leader not available'));
    await expect(sut.publish([letter(1, 10)])).rejects.toThrow('leader not available');
  });
});
