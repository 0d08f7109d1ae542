/** Clients remembered at most: a flood of addresses cannot grow the map without bound. */
const MAX_CLIENTS = 10000;

interface Window {
  startedAt: number;
  taken: number;
}

/**
 * The admin guard's count of attempts per client while Redis cannot keep the shared one: the
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
