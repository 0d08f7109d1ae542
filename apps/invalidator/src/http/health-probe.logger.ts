import { Injectable, LoggerService } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

/**
 * Terminus logs every failing probe at ERROR, one line per request (every 200 ms while a demo
 * or an orchestrator waits for readiness). A 503 is the probe's answer, not a fault: a
 * consumer still joining its group is not an error, and a store away is reported where it
 * fails (the saga's retries, the breaker). So the failing indicators are logged at debug.
 */
@Injectable()
export class HealthProbeLogger implements LoggerService {
  constructor(@InjectPinoLogger('HealthCheck') private readonly logger: PinoLogger) {}

  log(message: unknown): void {
    this.logger.debug(String(message));
  }

  error(message: unknown): void {
    this.logger.debug(String(message));
  }

  warn(message: unknown): void {
    this.logger.debug(String(message));
  }
}
