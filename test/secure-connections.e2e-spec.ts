import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { join } from 'node:path';
import { ServiceProcess } from './support/service-process';
import { KAFKA_SECURITY, serviceSecurityEnv } from './support/test-env';
import { World } from './support/world';

// Collected only on the secured stack (TEST_SECURE=1, see jest.config.js).
const secureDir = process.env.TEST_SECURE_DIR ?? '';
const untrustedCa = join(secureDir, 'certs', 'other-ca.pem');
const wrongPassword = join(secureDir, 'certs', 'keystore-password');

describe('connections to the secured stack', () => {
  let world: World;

  beforeAll(async () => {
    world = await World.create('securecx', 1);
  });

  afterAll(async () => {
    await world?.close();
  });

  // Each case starts the service with the secured settings but one thing wrong.
  const refusals: [string, 'Kafka' | 'Redis' | 'MySQL', Record<string, string>, RegExp][] = [
    [
      'Kafka over plaintext',
      'Kafka',
      { KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: '', KAFKA_SASL_MECHANISM: 'none' },
      /closed the plaintext connection and its listener speaks TLS.*KAFKA_TLS/,
    ],
    [
      'Kafka with TLS but without SASL',
      'Kafka',
      { KAFKA_SASL_MECHANISM: 'none' },
      /does the listener expect SASL.*KAFKA_SASL_MECHANISM/,
    ],
    [
      'Kafka with a wrong password',
      'Kafka',
      { KAFKA_SASL_PASSWORD_FILE: wrongPassword },
      /SASL SCRAM SHA512 authentication failed.*KAFKA_SASL_PASSWORD/,
    ],
    [
      'Kafka with a CA that did not sign the broker',
      'Kafka',
      { KAFKA_TLS_CA_FILE: untrustedCa },
      /certificate.*KAFKA_TLS_CA_FILE/,
    ],
    [
      'Redis over plaintext',
      'Redis',
      { REDIS_TLS: 'false', REDIS_TLS_CA_FILE: '', REDIS_URL: world0RedisPlainUrl() },
      /closed the plaintext connection and speaks TLS.*REDIS_TLS/,
    ],
    [
      'Redis as the default user (off)',
      'Redis',
      { REDIS_USERNAME: '', REDIS_PASSWORD_FILE: '' },
      /NOAUTH|WRONGPASS/,
    ],
    [
      'Redis with a wrong password',
      'Redis',
      { REDIS_PASSWORD_FILE: wrongPassword },
      /WRONGPASS.*REDIS_PASSWORD/,
    ],
    [
      'Redis with a CA that did not sign the server',
      'Redis',
      { REDIS_TLS_CA_FILE: untrustedCa },
      /certificate.*REDIS_TLS_CA_FILE/,
    ],
    [
      'MySQL over plaintext',
      'MySQL',
      { MYSQL_TLS: 'false', MYSQL_TLS_CA_FILE: '' },
      /Access denied.*MYSQL_TLS/,
    ],
    [
      'MySQL with a wrong password',
      'MySQL',
      { MYSQL_PASSWORD_FILE: wrongPassword },
      /Access denied.*MYSQL_PASSWORD/,
    ],
    [
      'MySQL with a CA that did not sign the server',
      'MySQL',
      { MYSQL_TLS_CA_FILE: untrustedCa },
      /certificate.*MYSQL_TLS_CA_FILE/,
    ],
  ];

  it.each(refusals)(
    '%s is refused: start-up stops (exit 3) naming the store',
    async (_case, store, wrong, reason) => {
      const { code, output } = await ServiceProcess.startExpectingExit(world.env, wrong);
      expect(code).toBe(3);
      expect(output).toContain('Stores refused the connection');
      const line = output.split('\n').find((l) => l.includes(`- ${store} at `));
      expect(line).toMatch(reason);
      // Only the store at fault is named.
      for (const other of ['Kafka', 'Redis', 'MySQL'].filter((s) => s !== store))
        expect(output).not.toContain(`- ${other} at `);
    },
  );

  it("the service's Redis user is refused FLUSHALL, CONFIG and KEYS, and keys outside its patterns", async () => {
    const env = serviceSecurityEnv();
    const { readFileSync } = await import('node:fs');
    const redis = new Redis(world.env.redisUrl, {
      username: env.REDIS_USERNAME,
      password: readFileSync(env.REDIS_PASSWORD_FILE, 'utf8'),
      tls: { ca: readFileSync(env.REDIS_TLS_CA_FILE) },
      maxRetriesPerRequest: 0,
    });
    try {
      expect(await redis.set(`${world.env.redisPrefix}probe`, '1')).toBe('OK');
      await expect(redis.flushall()).rejects.toThrow(/NOPERM/);
      await expect(redis.config('GET', 'requirepass')).rejects.toThrow(/NOPERM/);
      await expect(redis.keys('*')).rejects.toThrow(/NOPERM/);
      await expect(redis.set('someone-elses-key', '1')).rejects.toThrow(/NOPERM/);
    } finally {
      redis.disconnect();
    }
  });

  it("the service's Kafka user is refused topics and groups outside its own", async () => {
    const env = serviceSecurityEnv();
    const { readFileSync } = await import('node:fs');
    const kafka = new Kafka({
      clientId: 'secure-acl-probe',
      brokers: world.env.brokers,
      ssl: KAFKA_SECURITY.ssl,
      sasl: {
        mechanism: 'scram-sha-512',
        username: env.KAFKA_SASL_USERNAME,
        password: readFileSync(env.KAFKA_SASL_PASSWORD_FILE, 'utf8'),
      },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // The broker's error type, wherever kafkajs put it (aggregated, or as a cause).
      const refusal = (error: unknown): string => {
        if (!(error instanceof Error)) return '';
        const { type, errors, cause } = error as {
          type?: string;
          errors?: unknown[];
          cause?: unknown;
        };
        return [type ?? '', error.message, ...(errors ?? []).map(refusal), refusal(cause)].join(
          ' ',
        );
      };
      const created = await admin
        .createTopics({ topics: [{ topic: `private.${world.env.id}` }] })
        .then(() => 'created', refusal);
      expect(created).toMatch(/TOPIC_AUTHORIZATION_FAILED/);
      const offsets = await admin
        .fetchOffsets({ groupId: `other-${world.env.id}` })
        .then(() => 'read', refusal);
      // kafkajs reports the refused FindCoordinator as a coordinator not found; its own group
      // (invalidator-*) answers the same call.
      expect(offsets).toMatch(/GROUP_AUTHORIZATION_FAILED|find group coordinator/);
      await expect(
        admin.fetchOffsets({ groupId: world.env.groupId, topics: [world.env.topics.product] }),
      ).resolves.toHaveLength(1);
      // Its own topics are allowed: the world's product topic is described.
      const metadata = await admin.fetchTopicMetadata({ topics: [world.env.topics.product] });
      expect(metadata.topics[0].name).toBe(world.env.topics.product);
    } finally {
      await admin.disconnect();
    }
  });
});

/** The secured Redis's address with the plaintext scheme. */
function world0RedisPlainUrl(): string {
  const url = new URL(process.env.TEST_REDIS_URL ?? 'rediss://127.0.0.1:6390/0');
  url.protocol = 'redis:';
  url.username = '';
  url.password = '';
  return url.toString();
}
