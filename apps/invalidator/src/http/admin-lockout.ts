import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@invalidator/config';

/** Clients remembered at most: a flood of addresses cannot grow the map without bound. */
const MAX_CLIENTS = 10000;

interface Window {
  startedAt: number;
  failures: number;
}

/**
 * Refuses a client after ADMIN_LOCKOUT_ATTEMPTS bad tokens within ADMIN_LOCKOUT_WINDOW_MS
 * (fixed windows per client address), until its window ends. Per instance: behind N pods a
 * client gets at most N times the attempts, still far from guessing a 16+ character token.
 */
@Injectable()
export class AdminLockout {
  private readonly windows = new Map<string, Window>();
  /** The clock; a unit spec moves it. */
  now: () => number = Date.now;

  constructor(
    @Inject(APP_CONFIG)
    private readonly config: Pick<AppConfig, 'ADMIN_LOCKOUT_ATTEMPTS' | 'ADMIN_LOCKOUT_WINDOW_MS'>,
  ) {}

  /** Seconds until the client may try again, or 0 when it is not locked out. */
  retryAfterSeconds(client: string): number {
    const window = this.current(client);
    if (!window || window.failures < this.config.ADMIN_LOCKOUT_ATTEMPTS) return 0;
    const left = window.startedAt + this.config.ADMIN_LOCKOUT_WINDOW_MS - this.now();
    return Math.max(1, Math.ceil(left / 1000));
  }

  recordFailure(client: string): void {
    const window = this.current(client) ?? { startedAt: this.now(), failures: 0 };
    window.failures += 1;
    // Re-inserted last: the map's first entries are the ones to drop when it is full.
    this.windows.delete(client);
    this.windows.set(client, window);
    if (this.windows.size > MAX_CLIENTS) this.prune();
  }

  private current(client: string): Window | undefined {
    const window = this.windows.get(client);
    if (window && this.now() - window.startedAt >= this.config.ADMIN_LOCKOUT_WINDOW_MS) {
      this.windows.delete(client);
      return undefined;
    }
    return window;
  }

  private prune(): void {
    for (const [client, window] of this.windows) {
      if (this.now() - window.startedAt >= this.config.ADMIN_LOCKOUT_WINDOW_MS)
        this.windows.delete(client);
    }
    while (this.windows.size > MAX_CLIENTS) {
      const oldest = this.windows.keys().next().value;
      if (oldest === undefined) break;
      this.windows.delete(oldest);
    }
  }
}
