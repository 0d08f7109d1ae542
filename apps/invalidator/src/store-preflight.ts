import { AppConfig, StoreRefusedError, secretValues } from '@invalidator/config';
import { probeKafka } from '@invalidator/kafka';
import { probeMysql } from '@invalidator/mysql';
import { probeRedis } from '@invalidator/redis';

const AMBIGUOUS_ATTEMPTS = 3;

/**
 * A closed handshake is taken for a refusal only when it repeats: a proxy or load balancer
 * with nothing behind it also accepts and closes, and that is an outage.
 */
async function settled(probe: (config: AppConfig) => Promise<void>, config: AppConfig) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await probe(config);
    } catch (error) {
      if (!(error instanceof StoreRefusedError && error.ambiguous)) throw error;
      if (attempt >= AMBIGUOUS_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * Connects once to each store before the service starts. A refusal (credentials, TLS) exits 3
 * naming the store; an outage does not (the service waits and retries, as it always did).
 */
export async function preflightStores(config: AppConfig): Promise<void> {
  // kafkajs leaves the in-flight requests of a connection the broker closes rejected and
  // unhandled (its onEnd); the probe sees the same error through admin.connect().
  const strayKafkaRejection = (reason: unknown) => {
    if (!(reason instanceof Error && reason.name.startsWith('KafkaJS'))) throw reason;
  };
  process.on('unhandledRejection', strayKafkaRejection);
  const results = await Promise.allSettled([
    settled(probeKafka, config),
    settled(probeRedis, config),
    settled(probeMysql, config),
  ]).finally(() => process.off('unhandledRejection', strayKafkaRejection));
  const refused = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason as unknown);
  if (refused.length === 0) return;
  const secrets = secretValues(config);
  const scrub = (text: string) =>
    secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
  const problems = refused.map((e) => `\n  - ${scrub(String((e as Error).message))}`);
  process.stderr.write(`invalidator: Stores refused the connection:${problems.join('')}\n`);
  process.exit(3);
}
