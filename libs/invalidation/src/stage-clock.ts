import { SagaStage } from '@invalidator/monitoring';

/**
 * Times a saga's stages back to back: each `lap` ends the stage that ran since the previous
 * one. The saga's log line carries the figures (`stages_ms`), and each is observed once into
 * the stage histogram, so a dashboard and the bench read the same split.
 */
export class StageClock {
  readonly ms: Partial<Record<SagaStage, number>> = {};
  private mark = performance.now();

  constructor(private readonly observe: (stage: SagaStage, ms: number) => void) {}

  /** Ends `stage` now: the time since the last lap (or since the clock was made). */
  lap(stage: SagaStage): void {
    const now = performance.now();
    this.record(stage, now - this.mark);
    this.mark = now;
  }

  /** Starts timing from now, dropping the time since the last lap (time between attempts). */
  restart(): void {
    this.mark = performance.now();
  }

  /** A stage measured elsewhere (a wait before the clock existed). */
  record(stage: SagaStage, ms: number): void {
    const value = Math.max(0, ms);
    this.ms[stage] = value;
    this.observe(stage, value);
  }

  /** The figures rounded to 0.1 ms, for the log line. */
  rounded(): Partial<Record<SagaStage, number>> {
    const out: Partial<Record<SagaStage, number>> = {};
    for (const [stage, ms] of Object.entries(this.ms) as [SagaStage, number][])
      out[stage] = Math.round(ms * 10) / 10;
    return out;
  }
}
