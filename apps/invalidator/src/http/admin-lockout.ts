import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { LockoutCounter } from '@invalidator/locking';

export const LOCKOUT_LOG = {
  local: 'admin lockout: Redis unavailable; counting per instance',
  shared: 'admin lockout counted in Redis again',
} as const;

/** Clients remembered at most: a flood of addresses cannot grow the map without bound. */
const MAX_CLIENTS = 10000;

interface Window {
  startedAt: number;
  taken: number;
}

/**
 * AdminLockout's count of attempts per client while Redis cannot keep the shared one: the
 * same fixed windows as LockoutCounter, in this instance's memory only.
 */
export class LocalLockout {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly attempts: number,
    private readonly windowMs: number,
    /** The clock; a unit spec moves it. */
    private readonly now: () => number = Date.now,
  ) {}

  /** As LockoutCounter.take: 0 when an attempt was taken, else the milliseconds left. */
  take(client: string): number {
    const window = this.current(client) ?? { startedAt: this.now(), taken: 0 };
    if (window.taken >= this.attempts) return window.startedAt + this.windowMs - this.now();
    window.taken += 1;
    // Re-inserted last: the map's first entries are the ones to drop when it is full.
    this.windows.delete(client);
    this.windows.set(client, window);
    if (this.windows.size > MAX_CLIENTS) this.prune();
    return 0;
  }

  giveBack(client: string): void {
    const window = this.current(client);
    if (window && window.taken > 0) window.taken -= 1;
  }

  private current(client: string): Window | undefined {
    const window = this.windows.get(client);
    if (window && this.now() - window.startedAt >= this.windowMs) {
      this.windows.delete(client);
      return undefined;
    }
    return window;
  }

  private prune(): void {
    for (const [client, window] of this.windows) {
      if (this.now() - window.startedAt >= this.windowMs) this.windows.delete(client);
    }
    while (this.windows.size > MAX_CLIENTS) {
      const oldest = this.windows.keys().next().value;
      if (oldest === undefined) break;
      this.windows.delete(oldest);
    }
  }
}

/**
 * ADMIN_TOKEN's lockout, one per process: a client (by address) gets ADMIN_LOCKOUT_ATTEMPTS
 * refusals per ADMIN_LOCKOUT_WINDOW_MS, counted in Redis for all instances together. While
 * Redis cannot count, this instance counts alone: the dashboard stays usable in a Redis outage.
 */
@Injectable()
export class AdminLockout {
  private readonly local: LocalLockout;
  private sharedDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly counter: LockoutCounter,
    @InjectPinoLogger('AdminLockout') private readonly logger: PinoLogger,
  ) {
    this.local = new LocalLockout(config.ADMIN_LOCKOUT_ATTEMPTS, config.ADMIN_LOCKOUT_WINDOW_MS);
  }

  /** Takes one of the client's attempts: `left` 0 when taken, else the milliseconds left. */
  async take(client: string): Promise<{ left: number; giveBack: () => Promise<void> }> {
    const { ADMIN_LOCKOUT_ATTEMPTS: attempts, ADMIN_LOCKOUT_WINDOW_MS: windowMs } = this.config;
    try {
      const left = await this.counter.take(client, attempts, windowMs);
      if (this.sharedDown) this.logger.info(LOCKOUT_LOG.shared);
      this.sharedDown = false;
      return { left, giveBack: () => this.counter.giveBack(client).catch(() => undefined) };
    } catch (error) {
      if (!this.sharedDown) this.logger.warn({ err: error }, LOCKOUT_LOG.local);
      this.sharedDown = true;
      return {
        left: this.local.take(client),
        giveBack: () => Promise.resolve(this.local.giveBack(client)),
      };
    }
  }
}
