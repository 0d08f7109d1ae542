import Redis from 'ioredis';
import {
  AppConfig,
  PROBE_TIMEOUT_MS,
  StoreRefusedError,
  speaksTls,
  tlsFailure,
  withTimeout,
} from '@invalidator/config';
import { redisSecurity, redisUrl } from './redis.provider';

/** Start-up's Redis probe: WRONGPASS/NOAUTH/NOPERM, a TLS failure, or a closed handshake. */
export async function probeRedis(config: AppConfig): Promise<void> {
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
      PROBE_TIMEOUT_MS,
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
