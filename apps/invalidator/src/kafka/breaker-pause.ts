import { Consumer } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { CircuitBreakerService } from '@invalidator/monitoring';

/**
 * Readiness alone does not stop Kafka deliveries: an open breaker pauses the consumer itself.
 * What the breaker wants is kept apart from kafkajs, which forgets it when its group restarts.
 */
export class BreakerPause {
  private paused = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly topics: { topic: string }[],
    private readonly log: PinoLogger,
    breaker: CircuitBreakerService,
  ) {
    breaker.onTransition((state) => this.want(state === 'open'));
  }

  /** A crash-restart builds a new kafkajs group that knows nothing of an earlier pause. */
  joined(): void {
    this.apply(false);
  }

  private want(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.apply(true);
  }

  /**
   * kafkajs throws from pause/resume whenever it has no running group (before run, after stop,
   * during a crash-restart). Never let that escape into the breaker's listener: the wanted state
   * is kept and applied again on the next GROUP_JOIN.
   */
  private apply(sayResumed: boolean): void {
    try {
      if (this.paused) this.consumer.pause(this.topics);
      else this.consumer.resume(this.topics);
    } catch (error) {
      this.log.warn(
        { err: error, paused: this.paused },
        'consumer not running; its pause state is applied when it joins its group',
      );
      return;
    }
    if (this.paused)
      this.log.warn({ topics: this.topics }, 'consumption paused by the circuit breaker');
    else if (sayResumed) this.log.info({ topics: this.topics }, 'consumption resumed');
  }
}
