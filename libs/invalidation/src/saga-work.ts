import { AppConfig } from '@invalidator/config';
import { InvalidEventError, MergedPlan, PLAN_TABLE, ShopEvent } from '@invalidator/contracts';
import { parseEvent } from '@invalidator/contracts';
import { ChangeOutcome, EVENT_TYPES, convertChange } from '@invalidator/contracts';
import { LedgerEvent, VersionState } from '@invalidator/versioning';
import { DeadLetter } from './dead-letters';
import { IncomingMessage } from './incoming-batch';
import type { StageClock } from './stage-clock';

/**
 * An event to apply, which is also its own entry in the ledger (its id, partition and offset,
 * the types it bumps): one object per event of a drain, not two.
 */
export interface ValidEvent extends LedgerEvent {
  message: IncomingMessage;
  event: ShopEvent;
  /** A change event's commit time (source.ts_ms): its lag is observed after the purge. */
  committedAtMs?: number;
}

/** Why a change event was neither applied nor dead-lettered (its offset is committed). */
export type SkipReason = Extract<ChangeOutcome, { skipped: string }>['skipped'];

/** Where a batch stands: the events still to apply, the letters sent. */
export interface BatchRun {
  events: ValidEvent[];
  deadLettered: DeadLetter[];
  /** Applied alone by the poison search: in the report, not applied again by the batch. */
  appliedAlone: Set<string>;
}

/** A batch coalesced into one unit of work: one lock set, one transaction, one purge. */
export interface SagaWork {
  events: LedgerEvent[];
  dataTypes: string[];
  tags: string[];
  actor: string;
}

export interface SagaReport {
  path: 'lock' | 'fallback';
  dataTypes: string[];
  appliedEventIds: Set<string>;
  invalidatedKeys: number;
  versions: VersionState[];
  lockWaitMs: number;
  /** The attempt's stages (the saga's; ConsumeBatch adds the waits and the commit). */
  stages: StageClock;
}

/** A batch's messages checked one by one: its events (an id's copies included), in order. */
export interface CheckedMessages {
  events: ValidEvent[];
  invalid: DeadLetter[];
  skipped: SkipReason[];
}

/**
 * Parses and validates each message: an event, a letter for the dead-letter topic, or a change
 * event skipped. Throws only for what is not a message's fault (a bug): never a letter.
 */
export function check(
  messages: readonly IncomingMessage[],
  config: Pick<AppConfig, 'CDC_MAPPING_FILE' | 'CDC_SNAPSHOT_EVENTS'>,
): CheckedMessages {
  const events: ValidEvent[] = [];
  const invalid: DeadLetter[] = [];
  const skipped: SkipReason[] = [];
  const mapping = config.CDC_MAPPING_FILE;
  const cdcTopics = new Set(mapping?.topics);
  for (const message of messages) {
    try {
      // A mapped CDC topic's messages are Debezium change events (libs/contracts change-event.ts).
      const outcome =
        mapping && cdcTopics.has(message.topic)
          ? convertChange(message.value, mapping, config.CDC_SNAPSHOT_EVENTS)
          : { event: parseEvent(message.value), committedAtMs: undefined };
      if ('skipped' in outcome) {
        skipped.push(outcome.skipped);
        continue;
      }
      // Fields, not a spread: this runs once per event of a drain.
      const { event, committedAtMs } = outcome;
      events.push({
        message,
        event,
        committedAtMs,
        eventId: event.eventId,
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        dataTypes: PLAN_TABLE[event.type].dataTypes,
        oncePerId: committedAtMs !== undefined,
      });
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      invalid.push({ message, kind: error.kind, reason: error.reason });
    }
  }
  return { events, invalid, skipped };
}

/**
 * The checked batches of one saga, in order, split into events to apply, letters for the
 * dead-letter topic, and copies of an event already in the saga (applied once; counted as
 * duplicates).
 */
export function dedupe(parts: readonly CheckedMessages[]): {
  valid: ValidEvent[];
  invalid: DeadLetter[];
  copies: ValidEvent[];
  skipped: SkipReason[];
} {
  const valid: ValidEvent[] = [];
  const copies: ValidEvent[] = [];
  const seen = new Set<string>();
  for (const part of parts)
    for (const entry of part.events) {
      if (seen.has(entry.event.eventId)) copies.push(entry);
      else valid.push(entry);
      seen.add(entry.event.eventId);
    }
  const invalid = parts.flatMap((p) => p.invalid);
  const skipped = parts.flatMap((p) => p.skipped);
  return { valid, invalid, copies, skipped };
}

/** The events' data types and tags, merged: sorted types, so locks are always taken in one order. */
export function coalesce(valid: ValidEvent[]): SagaWork {
  const plan = new MergedPlan();
  for (let i = 0; i < valid.length; i++) plan.add(valid[i].event);
  return { events: valid, dataTypes: plan.dataTypes(), tags: plan.tags(), actor: 'consumer' };
}

/** The event type of a message for metrics: one of the contract's, or 'unknown'. */
export function eventTypeOf(message: IncomingMessage): string {
  const types = new RegExp(`"type"\\s*:\\s*"(${EVENT_TYPES.join('|')})"`);
  return types.exec(message.value?.toString() ?? '')?.[1] ?? 'unknown';
}
