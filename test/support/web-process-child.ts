/**
 * A web server of the local-tier spec, run as a child process of its own (forked by
 * web-process.ts, through ts-node): one CacheClient with the in-process tier, on the stack's
 * Redis as the web tier's user, driven over IPC.
 */
import Redis from 'ioredis';
import { CacheClient } from '@invalidator/client';
import type { WebCommand, WebReply } from './web-process';
import { REDIS_URL, WEB_REDIS_SECURITY } from './test-env';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const redis = new Redis(REDIS_URL, {
    keyPrefix: process.env.WEB_KEY_PREFIX,
    // Its name finds its subscriber connection (a duplicate keeps it) for CLIENT KILL.
    connectionName: process.env.WEB_CONNECTION_NAME,
    ...WEB_REDIS_SECURITY,
    // A lost connection comes back after this long: the spec reads while it is away.
    retryStrategy: () => Number(process.env.WEB_RECONNECT_MS),
  });
  const cache = await CacheClient.connect({
    redis,
    local: { maxEntries: 100, maxBytes: 1 << 20 },
  });
  const now = () => ({ stats: cache.stats(), tier: cache.localTier() ?? null });
  const send = (reply: WebReply) => process.send?.(reply);

  process.on('message', (command: WebCommand) => {
    const run = async (): Promise<WebReply> => {
      switch (command.op) {
        case 'read': {
          const value = await cache.remember(
            command.key,
            { tags: [command.key], ttl: 60, types: ['products'] },
            async () => ({ revision: command.revision }),
          );
          return { id: command.id, value, ...now() };
        }
        case 'heard': {
          // The first moment this process knows of the announcement: its subscriber's message
          // handler has run. What the tier holds then is what it held when it heard it.
          for (;;) {
            const { announced } = await cache.versions();
            if ((announced.products ?? 0) > command.above) {
              return { id: command.id, announced: announced.products, ...now() };
            }
            await sleep(1);
          }
        }
        case 'state':
          return { id: command.id, ...now() };
        case 'close':
          await cache.close();
          await redis.quit();
          return { id: command.id, ...now() };
      }
    };
    run().then(send, (error: Error) => send({ id: command.id, error: error.message }));
  });
  send({ id: 0, ...now() });
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
