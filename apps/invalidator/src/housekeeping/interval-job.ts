import { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

/**
 * Housekeeping run every `intervalMs` (0: never): never twice at once, and shutdown waits
 * for the run in flight.
 */
export abstract class IntervalJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** True once shutdown began: a long run checks it between its steps. */
  protected stopping = false;

  constructor(private readonly intervalMs: number) {}

  /** One run; it logs its own failures (a throw would only be lost). */
  abstract runOnce(): Promise<void>;

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.runOnce().finally(() => (this.running = undefined));
    }, this.intervalMs).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }
}
