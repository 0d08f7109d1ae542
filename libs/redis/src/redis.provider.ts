import { readFileSync } from 'node:fs';
import { Inject, Injectable, OnApplicationShutdown, Provider } from '@nestjs/common';
import Redis, { Cluster, RedisOptions } from 'ioredis';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { RedisClient } from './redis-topology';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** ACL user, password and TLS of the one Redis or of every node of a cluster. */
export function redisSecurity(
  config: Pick<
    AppConfig,
    | 'REDIS_USERNAME'
    | 'REDIS_PASSWORD'
    | 'REDIS_TLS'
    | 'REDIS_TLS_CA_FILE'
    | 'REDIS_TLS_CERT_FILE'
    | 'REDIS_TLS_KEY_FILE'
  >,
): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const read = (path: string | undefined) => (path ? readFileSync(path) : undefined);
  return {
    ...(config.REDIS_USERNAME ? { username: config.REDIS_USERNAME } : {}),
    ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
    ...(config.REDIS_TLS
      ? {
          tls: {
            rejectUnauthorized: true,
            ca: read(config.REDIS_TLS_CA_FILE),
            cert: read(config.REDIS_TLS_CERT_FILE),
            key: read(config.REDIS_TLS_KEY_FILE),
          },
        }
      : {}),
  };
}

/** REDIS_URL without user and password when they are given as their own settings. */
export function redisUrl(
  config: Pick<AppConfig, 'REDIS_URL' | 'REDIS_USERNAME' | 'REDIS_PASSWORD'>,
): string {
  if (!config.REDIS_USERNAME && !config.REDIS_PASSWORD) return config.REDIS_URL;
  const url = new URL(config.REDIS_URL);
  url.username = '';
  url.password = '';
  return url.toString();
}

export const redisClientProvider: Provider = {
  provide: REDIS_CLIENT,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig): RedisClient => {
    // Fail commands fast while Redis is away; the saga retries the whole batch with back-off.
    const failFast = { maxRetriesPerRequest: 1, commandTimeout: 5000, ...redisSecurity(config) };
    const client: RedisClient = config.REDIS_CLUSTER_NODES
      ? new Cluster(config.REDIS_CLUSTER_NODES, {
          keyPrefix: config.REDIS_KEY_PREFIX,
          enableOfflineQueue: false,
          // A failover or a slot migration answers MOVED/ASK/CLUSTERDOWN for a moment: follow it.
          maxRedirections: 16,
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 200,
          retryDelayOnTryAgain: 100,
          slotsRefreshTimeout: 2000,
          redisOptions: failFast,
        })
      : new Redis(redisUrl(config), {
          keyPrefix: config.REDIS_KEY_PREFIX,
          ...failFast,
          enableOfflineQueue: false,
          lazyConnect: false,
        });
    // Connection errors surface through the commands that fail (and are retried by the saga);
    // without a listener ioredis would print each reconnect attempt as an unhandled error.
    client.on('error', () => undefined);
    return client;
  },
};

@Injectable()
export class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
