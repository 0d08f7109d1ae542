import { IncomingMessage } from './incoming-batch';

export interface DeadLetter {
  message: IncomingMessage;
  /** A fixed word for metrics: the InvalidEventError kind, or 'poison'. */
  kind: string;
  reason: string;
}

/**
 * Where messages that can never be applied go. The lib declares it; the app implements it (the
 * Kafka dead-letter topic) and hands it to InvalidationModule.forConsumer.
 */
export interface DeadLetterSink {
  /** Resolves once every letter is durably out; rejects (and the saga retries) otherwise. */
  publish(letters: DeadLetter[]): Promise<void>;
}

export const DEAD_LETTER_SINK = Symbol('DEAD_LETTER_SINK');
