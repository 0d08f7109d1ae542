import { ServiceUnavailableException } from '@nestjs/common';
import { TerminusModule, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { RedisReadiness } from '@invalidator/redis';
import { CircuitBreakerService } from '@invalidator/monitoring';
import { KafkaBatchTransport } from '../kafka/kafka-batch.transport';
import { HealthController } from './health.controller';

async function setup(transport: Partial<KafkaBatchTransport>, ping: () => Promise<unknown>) {
  const module = await Test.createTestingModule({
    imports: [TerminusModule],
    controllers: [HealthController],
    providers: [
      { provide: KafkaBatchTransport, useValue: transport },
      { provide: CircuitBreakerService, useValue: { state: 'closed' } },
      { provide: RedisReadiness, useValue: { ping } },
    ],
  })
    .overrideProvider(TypeOrmHealthIndicator)
    .useValue({ pingCheck: async (key: string) => ({ [key]: { status: 'up' } }) })
    .compile();
  const sut = module.get(HealthController);
  return { sut, close: () => module.close() };
}

/** The body of a 503 from a health check. */
async function failure(check: Promise<unknown>): Promise<Record<string, unknown>> {
  const error = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceUnavailableException);
  return (error as ServiceUnavailableException).getResponse() as Record<string, unknown>;
}

describe(HealthController.name, () => {
  it('liveness fails once kafkajs gave up on the consumer, so Kubernetes restarts the pod', async () => {
    let dead: string | undefined;
    const { sut, close } = await setup(
      { isJoined: () => false, deadConsumer: () => dead },
      async () => 'PONG',
    );
    try {
      await expect(sut.live()).resolves.toMatchObject({ status: 'ok' });
      dead = 'consumer crashed and will not restart: KafkaJSNonRetriableError';
      const body = await failure(sut.live());
      expect(body.error).toMatchObject({ kafka_consumer: { status: 'down', message: dead } });
    } finally {
      await close();
    }
  });

  it('readiness gives a short reason for Redis, never the client error text', async () => {
    const raw = 'connect ECONNREFUSED 10.1.2.3:6379 (redis://:s3cret-password@10.1.2.3:6379/0)';
    const { sut, close } = await setup(
      { isJoined: () => true, deadConsumer: () => undefined },
      async () => {
        throw new Error(raw);
      },
    );
    try {
      const body = await failure(sut.ready());
      expect(body.error).toMatchObject({
        redis: { status: 'down', message: 'redis: unavailable' },
      });
      expect(JSON.stringify(body)).not.toContain('s3cret');
      expect(JSON.stringify(body)).not.toContain('10.1.2.3');
    } finally {
      await close();
    }
  });
});
