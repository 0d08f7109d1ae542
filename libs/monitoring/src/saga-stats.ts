import { Injectable } from '@nestjs/common';

export interface SagaFigures {
  sagas: { total: number; succeeded: number; failed: number };
  durationMs: { min: number | null; max: number | null; avg: number | null };
  successRate: number | null;
  errorRate: number | null;
  events: { applied: number; duplicate: number; deadLettered: number };
  since: string;
}

/** The current figures behind GET /monitoring/metrics, since this process started. */
@Injectable()
export class SagaStats {
  private readonly since = new Date().toISOString();
  private succeeded = 0;
  private failed = 0;
  private min = Infinity;
  private max = 0;
  private sum = 0;
  private readonly events = { applied: 0, duplicate: 0, deadLettered: 0 };

  success(
    durationMs: number,
    events: { applied: number; duplicate: number; deadLettered: number },
  ) {
    this.succeeded++;
    this.min = Math.min(this.min, durationMs);
    this.max = Math.max(this.max, durationMs);
    this.sum += durationMs;
    this.events.applied += events.applied;
    this.events.duplicate += events.duplicate;
    this.events.deadLettered += events.deadLettered;
  }

  failure(): void {
    this.failed++;
  }

  figures(): SagaFigures {
    const total = this.succeeded + this.failed;
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      sagas: { total, succeeded: this.succeeded, failed: this.failed },
      durationMs: {
        min: this.succeeded ? round(this.min) : null,
        max: this.succeeded ? round(this.max) : null,
        avg: this.succeeded ? round(this.sum / this.succeeded) : null,
      },
      successRate: total ? this.succeeded / total : null,
      errorRate: total ? this.failed / total : null,
      events: { ...this.events },
      since: this.since,
    };
  }
}
