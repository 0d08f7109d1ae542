import { connect as tlsConnect } from 'node:tls';
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { AppConfig, kafkaSecurity, secretValues } from '@invalidator/config';
import { redisSecurity, redisUrl } from '@invalidator/redis';
import { mysqlEndpoint, mysqlTls } from '@invalidator/versioning';

export type StoreName = 'Kafka' | 'Redis' | 'MySQL';

/**
 * A store answered and refused us: wrong credentials, TLS expected or not offered, a
 * certificate not trusted. No retry can cure it, so start-up stops naming the store.
 */
export class StoreRefusedError extends Error {
  constructor(
    readonly store: StoreName,
    readonly endpoint: string,
    readonly reason: string,
    readonly hint: string,
    /** A connection closed at the handshake: a TLS listener, or a proxy with nothing behind. */
    readonly ambiguous = false,
  ) {
    super(`${store} at ${endpoint} refused the connection: ${reason} (check ${hint})`);
    this.name = 'StoreRefusedError';
  }
}

const PROBE_TIMEOUT_MS = 10000;

const TLS_CODE =
  /^(HANDSHAKE_SSL_|HANDSHAKE_NO_SSL_SUPPORT$|ERR_TLS_|ERR_SSL_|EPROTO$|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_VERIFY_LEAF_SIGNATURE$|UNABLE_TO_GET_ISSUER_CERT|CERT_)/;

function codeOf(error: unknown): string {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return '';
}

const tlsFailure = (error: unknown) => TLS_CODE.test(codeOf(error));

/** The error and its causes (kafkajs wraps the last failure in a retries-exceeded error). */
function chain(error: unknown): Error[] {
  const out: Error[] = [];
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause)
    out.push(e);
  return out;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer`)), PROBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether host:port completes a TLS handshake (its certificate not judged): tells a TLS-only
 * server that resets a plaintext client from a proxy or load balancer with nothing behind it.
 */
function speaksTls(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, timeout: 3000 });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** MySQL: access denied, secure transport required, TLS not offered or not trusted. */
async function probeMysql(config: AppConfig): Promise<void> {
  const endpoint = mysqlEndpoint(config);
  const where = `${endpoint.host}:${endpoint.port}`;
  try {
    const connection = await mysql.createConnection({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.username,
      password: endpoint.password,
      database: endpoint.database,
      ssl: mysqlTls(config),
      connectTimeout: PROBE_TIMEOUT_MS,
    });
    await connection.end();
  } catch (error) {
    const code = codeOf(error);
    const message = (error as Error).message;
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR')
      throw new StoreRefusedError(
        'MySQL',
        where,
        message,
        // A user created REQUIRE SSL is refused the same way without TLS.
        config.MYSQL_TLS ? 'MYSQL_URL, MYSQL_PASSWORD' : 'MYSQL_URL, MYSQL_PASSWORD, MYSQL_TLS',
      );
    if (/secure transport|insecure transport|SSL/i.test(message) || tlsFailure(error))
      throw new StoreRefusedError('MySQL', where, message, 'MYSQL_TLS, MYSQL_TLS_CA_FILE');
    // Anything else (not reachable yet, too many connections) is an outage: start-up waits.
  }
}

/** Redis: WRONGPASS/NOAUTH/NOPERM, a TLS failure, or a server closing the handshake. */
async function probeRedis(config: AppConfig): Promise<void> {
  const seed = config.REDIS_CLUSTER_NODES?.[0];
  const url = new URL(config.REDIS_URL);
  const host = seed?.host ?? url.hostname;
  const port = seed?.port ?? Number(url.port || 6379);
  const where = `${host}:${port}`;
  const options = {
    ...redisSecurity(config),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: PROBE_TIMEOUT_MS,
    retryStrategy: () => null,
  };
  const client = seed
    ? new Redis({ host: seed.host, port: seed.port, ...options })
    : new Redis(redisUrl(config), options);
  let connected = false;
  let lastError: unknown;
  client.on('connect', () => (connected = true));
  client.on('error', (error) => (lastError = error));
  try {
    await withTimeout(
      client.connect().then(() => client.ping()),
      'Redis',
    );
  } catch (error) {
    const cause = lastError ?? error;
    const message = (cause as Error).message;
    if (/WRONGPASS|NOAUTH|NOPERM|invalid username-password/i.test(message))
      throw new StoreRefusedError('Redis', where, message, 'REDIS_USERNAME, REDIS_PASSWORD');
    if (tlsFailure(cause) || tlsFailure(error))
      throw new StoreRefusedError('Redis', where, message, 'REDIS_TLS, REDIS_TLS_CA_FILE');
    if (connected && !config.REDIS_TLS && (await speaksTls(host, port)))
      throw new StoreRefusedError(
        'Redis',
        where,
        'the server closed the plaintext connection and speaks TLS',
        'REDIS_URL (rediss://), REDIS_TLS',
      );
  } finally {
    client.disconnect();
  }
}

/** Kafka: SASL authentication failed, a TLS failure, or a listener closing the handshake. */
async function probeKafka(config: AppConfig): Promise<void> {
  const where = config.KAFKA_BROKERS.join(',');
  const seed = config.KAFKA_BROKERS[0];
  const [seedHost, seedPort] = [
    seed.slice(0, seed.lastIndexOf(':')),
    seed.slice(seed.lastIndexOf(':') + 1),
  ];
  const kafka = new Kafka({
    clientId: `${config.KAFKA_CLIENT_ID}-preflight`,
    brokers: config.KAFKA_BROKERS,
    ...kafkaSecurity(config),
    logLevel: logLevel.NOTHING,
    connectionTimeout: PROBE_TIMEOUT_MS,
    authenticationTimeout: PROBE_TIMEOUT_MS,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await withTimeout(
      admin.connect().then(() => admin.describeCluster()),
      'Kafka',
    );
  } catch (error) {
    const causes = chain(error);
    const names = causes.map((e) => e.name);
    const message = causes[causes.length - 1]?.message ?? String(error);
    if (names.includes('KafkaJSSASLAuthenticationError') || /SASL|authentication/i.test(message))
      throw new StoreRefusedError(
        'Kafka',
        where,
        message,
        'KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD',
      );
    if (tlsFailure(error))
      throw new StoreRefusedError('Kafka', where, message, 'KAFKA_TLS, KAFKA_TLS_CA_FILE');
    // A listener that expects TLS (or SASL first) closes a connection that starts otherwise.
    if (names.includes('KafkaJSConnectionClosedError')) {
      const [host, port] = [seedHost, Number(seedPort)];
      if (!config.KAFKA_TLS && (await speaksTls(host, port)))
        throw new StoreRefusedError(
          'Kafka',
          where,
          'the broker closed the plaintext connection and its listener speaks TLS',
          'KAFKA_TLS, KAFKA_SASL_MECHANISM',
        );
      if (config.KAFKA_TLS && config.KAFKA_SASL_MECHANISM === 'none')
        throw new StoreRefusedError(
          'Kafka',
          where,
          'the broker closed the connection during the handshake (does the listener expect SASL?)',
          'KAFKA_SASL_MECHANISM',
          true,
        );
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

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
 * Connects once to each store before the service starts. A refusal stops start-up with the
 * store named; an outage does not (the service waits and retries, as it always did).
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
  throw new StoresRefusedError(refused.map((e) => scrub(String((e as Error).message))));
}

export class StoresRefusedError extends Error {
  constructor(readonly problems: string[]) {
    super(`Stores refused the connection:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'StoresRefusedError';
  }
}
