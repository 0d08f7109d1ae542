import { AppConfig } from '@invalidator/config';
import { EventType, InvalidEventError, MergedPlan, PLAN_TABLE } from '@invalidator/contracts';
import { ShopEvent, parseEvent } from '@invalidator/contracts';
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
  type: EventType;
  /**
   * The parsed event; undefined when the batch was checked on the check thread (check-thread.ts),
   * which hands back only the columns below: `shopEvent` parses the message again when needed.
   */
  event: ShopEvent | undefined;
  /** A change event's commit time (source.ts_ms): its lag is observed after the purge. */
  committedAtMs: number | undefined;
  /** Parses the message again (the same check as the batch's). */
  recheck: (message: IncomingMessage) => ShopEvent;
}

/** The checks' settings: which topics carry change events, and how their snapshots count. */
export type CheckConfig = Pick<AppConfig, 'CDC_MAPPING_FILE' | 'CDC_SNAPSHOT_EVENTS'>;

/** An event's parsed form, parsed again from its message if it was checked on the check thread. */
export function shopEvent(valid: ValidEvent): ShopEvent {
  return (valid.event ??= valid.recheck(valid.message));
}

/** Why a change event was neither applied nor dead-lettered (its offset is committed). */
export type SkipReason = Extract<ChangeOutcome, { skipped: string }>['skipped'];

/** Where a batch stands: the events still to apply, the letters sent. */
export interface BatchRun {
  events: ValidEvent[];
  deadLettered: DeadLetter[];
  /** Applied alone by the poison search: in the report, not applied again by the batch. */
  appliedAlone: Set<string>;
  /** The plan of `events`, merged as they were checked; dropped once the poison search changes them. */
  plan?: PlanParts;
}

/** What a batch's events ask for, merged (MergedPlan's data types and tags). */
export interface PlanParts {
  dataTypes: string[];
  tags: string[];
}

/** A batch coalesced into one unit of work: one lock set, one transaction, one purge. */
export interface SagaWork {
  events: LedgerEvent[];
  dataTypes: string[];
  tags: string[];
  actor: string;
}

/**
 * The ids a saga applied: a Set's has, size, add and iteration, the set itself built only when
 * an id is looked up or added (a drain saga applies tens of thousands, and its report is
 * mostly read by its size). A saga's events are distinct by id (dedupe), so are these.
 */
export class AppliedIds implements Iterable<string> {
  private set?: Set<string>;

  constructor(private readonly ids: readonly string[] = []) {}

  get size(): number {
    return this.set ? this.set.size : this.ids.length;
  }

  has(id: string): boolean {
    return this.all().has(id);
  }

  add(id: string): void {
    this.all().add(id);
  }

  [Symbol.iterator](): Iterator<string> {
    return (this.set ?? this.ids)[Symbol.iterator]();
  }

  private all(): Set<string> {
    return (this.set ??= new Set(this.ids));
  }
}

export interface SagaReport {
  path: 'lock' | 'fallback';
  dataTypes: string[];
  appliedEventIds: AppliedIds;
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
  /** The plan of `events` (copies included), merged as they were checked. */
  plan: PlanParts;
  /** Each event's idHash, when the check thread computed them. */
  idHashes?: Uint32Array;
}

/** A 32-bit FNV-1a hash of an event id, for dedupe's table. */
export function idHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * One message's check: its event (with a change's commit time) or a change event skipped;
 * throws InvalidEventError for a letter, anything else for what is not the message's fault.
 * A mapped CDC topic's messages are Debezium change events (libs/contracts change-event.ts).
 */
export function checkMessage(
  value: Buffer | null,
  changeTopic: boolean,
  config: CheckConfig,
): ChangeOutcome | { event: ShopEvent; committedAtMs: undefined } {
  const mapping = config.CDC_MAPPING_FILE;
  return mapping && changeTopic
    ? convertChange(value, mapping, config.CDC_SNAPSHOT_EVENTS)
    : { event: parseEvent(value), committedAtMs: undefined };
}

/** Whether a topic carries change events, and a message's event parsed again (ValidEvent.recheck). */
export interface Checkers {
  isChange: (topic: string) => boolean;
  recheck: (message: IncomingMessage) => ShopEvent;
}

const checkersByConfig = new WeakMap<CheckConfig, Checkers>();

/** The config's checkers, made once per config (not per batch). */
export function checkersOf(config: CheckConfig): Checkers {
  let checkers = checkersByConfig.get(config);
  if (checkers) return checkers;
  const topics = new Set(config.CDC_MAPPING_FILE?.topics);
  const isChange = (topic: string) => topics.has(topic);
  const recheck = (message: IncomingMessage) => {
    const outcome = checkMessage(message.value, isChange(message.topic), config);
    if ('skipped' in outcome) throw new Error(`a checked event became a skip: ${outcome.skipped}`);
    return outcome.event;
  };
  checkers = { isChange, recheck };
  checkersByConfig.set(config, checkers);
  return checkers;
}

/** The ledger entry and event of a message that passed the check. */
export function validEvent(
  message: IncomingMessage,
  type: EventType,
  eventId: string,
  event: ShopEvent | undefined,
  committedAtMs: number | undefined,
  recheck: ValidEvent['recheck'],
): ValidEvent {
  // Fields, not a spread, and in one order on every path: this runs once per event of a drain.
  return {
    message,
    type,
    event,
    committedAtMs,
    recheck,
    eventId,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    dataTypes: PLAN_TABLE[type].dataTypes,
    oncePerId: committedAtMs !== undefined,
  };
}

/** Where checkEach sends each message's outcome, by the message's index. */
export interface CheckSink {
  event(index: number, event: ShopEvent, committedAtMs: number | undefined): void;
  invalid(index: number, error: InvalidEventError): void;
  skipped(reason: SkipReason): void;
}

/**
 * Parses and validates `count` messages one by one (the i-th's value, and whether its topic
 * carries change events): each outcome goes to the sink, and the events' plans are merged.
 * Throws only for what is not a message's fault (a bug): never a letter. `check` and the check
 * thread (check-thread.ts) both run it.
 */
export function checkEach(
  count: number,
  valueOf: (index: number) => Buffer | null,
  isChangeAt: (index: number) => boolean,
  config: CheckConfig,
  sink: CheckSink,
): PlanParts {
  const plan = new MergedPlan();
  for (let i = 0; i < count; i++) {
    try {
      const outcome = checkMessage(valueOf(i), isChangeAt(i), config);
      if ('skipped' in outcome) {
        sink.skipped(outcome.skipped);
        continue;
      }
      plan.add(outcome.event);
      sink.event(i, outcome.event, outcome.committedAtMs);
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      sink.invalid(i, error);
    }
  }
  return { dataTypes: plan.dataTypes(), tags: plan.tags() };
}

/**
 * Parses and validates each message: an event, a letter for the dead-letter topic, or a change
 * event skipped. Throws only for what is not a message's fault (a bug): never a letter.
 */
export function check(messages: readonly IncomingMessage[], config: CheckConfig): CheckedMessages {
  const events: ValidEvent[] = [];
  const invalid: DeadLetter[] = [];
  const skipped: SkipReason[] = [];
  const { isChange, recheck } = checkersOf(config);
  const plan = checkEach(
    messages.length,
    (i) => messages[i].value,
    (i) => isChange(messages[i].topic),
    config,
    {
      event: (i, event, committedAtMs) => {
        const message = messages[i];
        events.push(validEvent(message, event.type, event.eventId, event, committedAtMs, recheck));
      },
      invalid: (i, error) =>
        invalid.push({ message: messages[i], kind: error.kind, reason: error.reason }),
      skipped: (reason) => skipped.push(reason),
    },
  );
  return { events, invalid, skipped, plan };
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
  /** The parts' plans merged. */
  plan: PlanParts;
} {
  const valid: ValidEvent[] = [];
  const copies: ValidEvent[] = [];
  let total = 0;
  for (const part of parts) total += part.events.length;
  // An open-addressing table of the ids' hashes (the check thread's, or made here): no string
  // set of tens of thousands of ids per saga. Slots hold the index in `valid` plus one.
  let size = 16;
  while (size < total * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size);
  const hashes = new Uint32Array(size);
  for (const part of parts) {
    const { events } = part;
    for (let i = 0; i < events.length; i++) {
      const entry = events[i];
      const hash = part.idHashes ? part.idHashes[i] : idHash(entry.eventId);
      let slot = hash & mask;
      let copy = false;
      for (; slots[slot] !== 0; slot = (slot + 1) & mask)
        if (hashes[slot] === hash && valid[slots[slot] - 1].eventId === entry.eventId) {
          copy = true;
          break;
        }
      if (copy) {
        copies.push(entry);
        continue;
      }
      valid.push(entry);
      slots[slot] = valid.length;
      hashes[slot] = hash;
    }
  }
  const invalid = parts.flatMap((p) => p.invalid);
  const skipped = parts.flatMap((p) => p.skipped);
  const plan = mergePlans(parts.map((p) => p.plan));
  return { valid, invalid, copies, skipped, plan };
}

/** Plans merged: the union of their data types (sorted: the one lock order) and tags. */
export function mergePlans(plans: readonly PlanParts[]): PlanParts {
  if (plans.length === 1) return plans[0];
  const dataTypes = new Set(plans.flatMap((p) => p.dataTypes));
  const tags = new Set<string>();
  for (const plan of plans) for (const tag of plan.tags) tags.add(tag);
  return { dataTypes: [...dataTypes].sort(), tags: [...tags] };
}

/**
 * The events' data types and tags, merged: sorted types, so locks are always taken in one order.
 * `planned` is their plan when it is known already (merged as they were checked).
 */
export function coalesce(valid: ValidEvent[], planned?: PlanParts): SagaWork {
  if (planned) return { events: valid, ...planned, actor: 'consumer' };
  const plan = new MergedPlan();
  for (let i = 0; i < valid.length; i++) plan.add(shopEvent(valid[i]));
  return { events: valid, dataTypes: plan.dataTypes(), tags: plan.tags(), actor: 'consumer' };
}

/** The event type of a message for metrics: one of the contract's, or 'unknown'. */
export function eventTypeOf(message: IncomingMessage): string {
  const types = new RegExp(`"type"\\s*:\\s*"(${EVENT_TYPES.join('|')})"`);
  return types.exec(message.value?.toString() ?? '')?.[1] ?? 'unknown';
}
