import type { Logger } from 'nestjs-pino';

/**
 * Process warnings go to the service's log, in its one format, rather than to stderr: held from
 * the start (the store preflight already runs kafkajs) until the logger exists. kafkajs 2.2.4's
 * idle request queue calls setTimeout with `-1 - Date.now()` (tulios/kafkajs#1751, unfixed
 * upstream), which Node 23 and later report as a TimeoutNegativeWarning; Node runs such a timer
 * after 1 ms, as it always did, so that one is logged at debug; any other at warning.
 * test/startup-logs.e2e-spec.ts, on the Node 24 leg, sees a line in another format.
 */
export function captureProcessWarnings(): { logTo(logger: Logger): void } {
  const held: Error[] = [];
  let sink = (warning: Error) => void held.push(warning);
  process.removeAllListeners('warning');
  process.on('warning', (warning) => sink(warning));
  return {
    logTo(logger) {
      sink = (warning) => {
        const line = { warning: warning.name, err: warning };
        if (warning.name === 'TimeoutNegativeWarning') logger.debug(line, warning.message);
        else logger.warn(line, warning.message);
      };
      held.splice(0).forEach(sink);
    },
  };
}
