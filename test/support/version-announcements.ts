import Redis, { Cluster } from 'ioredis';
import { VERSIONS_CHANNEL } from '@invalidator/client';
import { waitFor } from './test-env';

/** Listens to the service's version announcements of a test world. */
export class VersionAnnouncements {
  private latest: Record<string, number> = {};
  readonly received: { versions: Record<string, number>; global: string }[] = [];

  private constructor(private readonly subscriber: Redis | Cluster) {}

  /** `onAnnouncement`: called as each one arrives (the bench times purges by it). */
  static async listen(
    redis: Redis | Cluster,
    onAnnouncement?: () => void,
  ): Promise<VersionAnnouncements> {
    const subscriber = redis.duplicate();
    const announcements = new VersionAnnouncements(subscriber);
    const channel = `${redis.options.keyPrefix ?? ''}${VERSIONS_CHANNEL}`;
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const parsed = JSON.parse(message) as { versions: Record<string, number>; global: string };
      announcements.received.push(parsed);
      onAnnouncement?.();
      for (const [type, version] of Object.entries(parsed.versions)) {
        announcements.latest[type] = Math.max(announcements.latest[type] ?? 0, version);
      }
    });
    await subscriber.subscribe(channel);
    return announcements;
  }

  /** The newest `products` version announced so far (0 before any). */
  async products(): Promise<number> {
    return this.latest.products ?? 0;
  }

  async waitProductsAbove(version: number, timeoutMs = 30000): Promise<number> {
    return waitFor(
      `an announcement of products above ${version}`,
      async () => ((this.latest.products ?? 0) > version ? this.latest.products : undefined),
      timeoutMs,
      2,
    );
  }

  async close(): Promise<void> {
    await this.subscriber.quit();
  }
}
