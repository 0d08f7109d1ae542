import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EVENT_TYPES, EventType, InvalidEventKind, ShopEvent } from '@invalidator/contracts';
import { IncomingMessage } from './incoming-batch';
import {
  CheckConfig,
  CheckedMessages,
  PlanParts,
  SkipReason,
  ValidEvent,
  checkEach,
  checkersOf,
  idHash,
  validEvent,
} from './saga-work';

/**
 * A batch's messages as the check thread takes them: their values in one buffer (moved to the
 * thread, not copied again), where each starts and ends, whether it is a change event. A null
 * value travels as an empty one: both checks take the two alike.
 */
export interface PackedMessages {
  values: ArrayBuffer;
  starts: Int32Array<ArrayBuffer>;
  ends: Int32Array<ArrayBuffer>;
  changeTopic: Uint8Array<ArrayBuffer>;
}

/** The check of packed messages, in columns: no object per event crosses the threads. */
export interface PackedOutcome {
  /** The index of each valid event's message, in order. */
  valid: Int32Array<ArrayBuffer>;
  /** Their event ids, lower case, joined by a newline. */
  ids: string;
  /** Their ids' hashes (idHash), for dedupe. */
  idHashes: Uint32Array<ArrayBuffer>;
  /** Their types, as indexes into EVENT_TYPES. */
  types: Uint8Array<ArrayBuffer>;
  /** A change event's commit time; NaN for a contract event. */
  committedAt: Float64Array<ArrayBuffer>;
  invalid: { index: number; kind: InvalidEventKind; reason: string }[];
  skipped: SkipReason[];
  /** The valid events' plan, merged (copies of an id included). */
  plan: PlanParts;
}

/**
 * The most bytes between two values copied with them: a fetch response holds a partition's
 * records in order, each value followed by its record's framing (headers, the next record's
 * length, key and so on, tens of bytes), so a run of values is copied as one region.
 */
const FRAMING_BYTES = 256;

export function packMessages(
  messages: readonly IncomingMessage[],
  isChange: (topic: string) => boolean,
): PackedMessages {
  const starts = new Int32Array(messages.length);
  const ends = new Int32Array(messages.length);
  const changeTopic = new Uint8Array(messages.length);
  // Runs of values in order in one buffer, each to be copied whole: a memcpy per run, not per
  // value. `at` is where a run starts in the packed buffer.
  const runs: { source: ArrayBufferLike; from: number; to: number; at: number }[] = [];
  let run: (typeof runs)[number] | undefined;
  let total = 0;
  let topic: string | undefined;
  let change = false;
  for (let i = 0; i < messages.length; i++) {
    const { value } = messages[i];
    if (value) {
      const from = value.byteOffset;
      if (!run || run.source !== value.buffer || from < run.to || from - run.to > FRAMING_BYTES) {
        if (run) total += run.to - run.from;
        run = { source: value.buffer, from, to: from, at: total };
        runs.push(run);
      }
      starts[i] = run.at + from - run.from;
      ends[i] = starts[i] + value.length;
      run.to = from + value.length;
    }
    // A batch's messages come a partition at a time: the topic is looked up once per run.
    if (messages[i].topic !== topic) {
      topic = messages[i].topic;
      change = isChange(topic);
    }
    changeTopic[i] = change ? 1 : 0;
  }
  if (run) total += run.to - run.from;
  // Its own memory (never the Buffer pool's), as it is moved to the thread.
  const values = new Uint8Array(total);
  for (const { source, from, to, at } of runs)
    values.set(new Uint8Array(source, from, to - from), at);
  return { values: values.buffer, starts, ends, changeTopic };
}

/** The check thread's work: `check` over packed messages, answered in columns. */
export function checkPacked(packed: PackedMessages, config: CheckConfig): PackedOutcome {
  const { starts, ends, changeTopic } = packed;
  const values = Buffer.from(packed.values);
  const valid: number[] = [];
  const ids: string[] = [];
  const idHashes: number[] = [];
  const types: number[] = [];
  const committedAt: number[] = [];
  const invalid: PackedOutcome['invalid'] = [];
  const skipped: SkipReason[] = [];
  const plan = checkEach(
    ends.length,
    (i) => values.subarray(starts[i], ends[i]),
    (i) => changeTopic[i] === 1,
    config,
    {
      event: (i, event, committedAtMs) => {
        valid.push(i);
        ids.push(event.eventId);
        idHashes.push(idHash(event.eventId));
        types.push(EVENT_TYPES.indexOf(event.type));
        committedAt.push(committedAtMs ?? NaN);
      },
      invalid: (index, { kind, reason }) => invalid.push({ index, kind, reason }),
      skipped: (reason) => skipped.push(reason),
    },
  );
  return {
    valid: Int32Array.from(valid),
    ids: ids.join('\n'),
    idHashes: Uint32Array.from(idHashes),
    types: Uint8Array.from(types),
    committedAt: Float64Array.from(committedAt),
    invalid,
    skipped,
    plan,
  };
}

/** The messages' check from its columns: what `check` returns, the events not parsed again. */
export function unpackOutcome(
  messages: readonly IncomingMessage[],
  outcome: PackedOutcome,
  recheck: (message: IncomingMessage) => ShopEvent,
): CheckedMessages {
  const { valid, types, committedAt } = outcome;
  const ids = valid.length > 0 ? outcome.ids.split('\n') : [];
  const events: ValidEvent[] = new Array<ValidEvent>(valid.length);
  for (let k = 0; k < valid.length; k++) {
    const at = committedAt[k];
    const type: EventType = EVENT_TYPES[types[k]];
    const committed = Number.isNaN(at) ? undefined : at;
    events[k] = validEvent(messages[valid[k]], type, ids[k], undefined, committed, recheck);
  }
  const invalid = outcome.invalid.map(({ index, kind, reason }) => ({
    message: messages[index],
    kind,
    reason,
  }));
  const { skipped, plan, idHashes } = outcome;
  return { events, invalid, skipped, plan, idHashes };
}

/** Made-up events of each type, checked once at start-up (CheckThread.warm). */
const WARM_UP_EVENTS = 20000;

function warmUpMessages(): IncomingMessage[] {
  const occurredAt = new Date(0).toISOString();
  return Array.from({ length: WARM_UP_EVENTS }, (_, i) => {
    const common = { eventId: randomUUID(), action: 'updated', occurredAt };
    const event =
      i % 2 === 0
        ? { ...common, type: 'ProductUpdated', productId: `p${i}`, categoryIds: [`c${i % 40}`] }
        : { ...common, type: 'CategoryUpdated', categoryId: `c${i % 40}` };
    const value = Buffer.from(JSON.stringify(event));
    return { topic: '', partition: 0, offset: String(i), key: null, value, timestamp: '0' };
  });
}

type Reply = { id: number; outcome: PackedOutcome } | { id: number; error: string };

/**
 * The thread's script: the compiled one beside this file; from the sources (unit tests under
 * ts-jest, the bench's ts-node), the TypeScript one through ts-node, a development dependency.
 */
function workerScript(): { file: string; execArgv: string[] } {
  const compiled = join(__dirname, 'check-thread.worker.js');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return {
    file: join(__dirname, 'check-thread.worker.ts'),
    execArgv: [
      '--require',
      'ts-node/register/transpile-only',
      '--require',
      'tsconfig-paths/register',
    ],
  };
}

interface Waiting {
  messages: readonly IncomingMessage[];
  resolve: (checked: CheckedMessages) => void;
  reject: (error: Error) => void;
}

/**
 * Checks big batches on a worker thread, so that a drain's parsing and validation (a quarter
 * of the main thread's time, and much of its garbage) runs on the second core, beside the
 * main thread's fetches and sagas. One thread, started and warmed before the consumer
 * (`warm`), answering in order. A thread that fails or exits rejects what it had; the next
 * batch starts another.
 */
export class CheckThread {
  private thread?: { worker: Worker; pending: Map<number, Waiting> };
  private nextId = 0;
  private readonly isChange: (topic: string) => boolean;
  private readonly recheck: (message: IncomingMessage) => ShopEvent;

  constructor(private readonly config: CheckConfig) {
    ({ isChange: this.isChange, recheck: this.recheck } = checkersOf(config));
  }

  check(messages: readonly IncomingMessage[]): Promise<CheckedMessages> {
    const { worker, pending } = this.thread ?? this.start();
    const id = this.nextId++;
    const packed = packMessages(messages, this.isChange);
    return new Promise((resolve, reject) => {
      pending.set(id, { messages, resolve, reject });
      const { values, starts, ends, changeTopic } = packed;
      const moved = [values, starts.buffer, ends.buffer, changeTopic.buffer];
      worker.postMessage({ id, packed }, moved);
    });
  }

  /**
   * Starts the thread and has it check WARM_UP_EVENTS made-up events, so that a drain's first
   * saga (after a restart, the biggest backlog) waits neither for the thread's start nor for
   * its cold code: cold, its first 5,600-event batch took 66 ms on the thread, warm 10-25.
   */
  async warm(): Promise<void> {
    await this.check(warmUpMessages());
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    if (thread) await thread.worker.terminate();
  }

  private start() {
    const { file, execArgv } = workerScript();
    const { CDC_MAPPING_FILE, CDC_SNAPSHOT_EVENTS } = this.config;
    const workerData: CheckConfig = { CDC_MAPPING_FILE, CDC_SNAPSHOT_EVENTS };
    const worker = new Worker(file, { execArgv, workerData });
    // Never what keeps the process alive.
    worker.unref();
    const thread = { worker, pending: new Map<number, Waiting>() };
    worker.on('message', (reply: Reply) => {
      const waiting = thread.pending.get(reply.id);
      if (!waiting) return;
      thread.pending.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(`the check thread failed: ${reply.error}`));
      else waiting.resolve(unpackOutcome(waiting.messages, reply.outcome, this.recheck));
    });
    const fail = (error: Error) => {
      if (this.thread === thread) this.thread = undefined;
      for (const waiting of thread.pending.values()) waiting.reject(error);
      thread.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the check thread exited (${code})`)));
    this.thread = thread;
    return thread;
  }
}
