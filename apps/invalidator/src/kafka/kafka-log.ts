import { KafkaJSError, KafkaJSProtocolError, LogEntry, logCreator, logLevel } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';

/** Protocol errors of a group whose coordinator is not ready yet: kafkajs retries them. */
const COORDINATOR_NOT_READY = new Set([
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/**
 * A consumer crash kafkajs restarts because the group's coordinator is still loading or
 * moving (a fresh broker, a new group, a coordinator failover): part of joining the group,
 * not a fault. Judged by the error's type, through the causes kafkajs wraps it in.
 */
export function isCoordinatorNotReady(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as KafkaJSError).cause) {
    if (e instanceof KafkaJSProtocolError && COORDINATOR_NOT_READY.has(e.type)) return true;
  }
  return false;
}

/**
 * kafkajs's own log lines, written through the service's logger (one JSON format, one level
 * setting). Its consumer's crash and restart lines are left out: the transport reports each
 * crash from kafkajs's CRASH event, with the typed error, at the level the error deserves.
 */
export function kafkaLogCreator(logger: PinoLogger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      if (namespace === 'Consumer' && /^(Crash: |Restarting the consumer)/.test(message)) return;
      const line = { kafkajs: namespace, ...fields };
      const text = `kafkajs: ${message}`;
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(line, text);
      else if (level === logLevel.WARN) logger.warn(line, text);
      else if (level === logLevel.INFO) logger.info(line, text);
      else logger.debug(line, text);
    };
}
