import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { freshnessNines } from '@invalidator/cache';
import { percentile } from '../bench/stats';
import { floorIndex } from '../support/staleness-race';

/**
 * The soak's history, one JSON object a line (README "Soak"), so that a checker other than this
 * one can read it again. Times are epoch milliseconds of the machine's clock (every process of
 * the soak runs on it).
 */
export type HistoryLine = RunLine | WriteLine | ReadLine | FaultLine | EndLine;

/** The first line: how the soak ran. */
export interface RunLine {
  type: 'run';
  at: number;
  seconds: number;
  versionCheck: boolean;
  /** The readers with libs/client's in-process tier (SOAK_LOCAL); [] without it. */
  localReaders: number[];
  readers: number;
  concurrency: number;
  products: string[];
  fillDelayMs: number;
  redis: 'single' | 'cluster';
}

/**
 * One change a writer made through the shop's `PUT /products/:id` (the price is the revision).
 * `committedAt`: the route answered (the transaction with its outbox row committed before);
 * `version`: the products version the service bumped for its event (its audit row);
 * `announcedAt`: when the soak heard the first announcement of that version or a newer one.
 * Both null when it was never announced before the soak ended.
 */
export interface WriteLine {
  type: 'write';
  product: string;
  revision: number;
  eventId: string;
  sentAt: number;
  committedAt: number;
  version: number | null;
  announcedAt: number | null;
}

/**
 * One read through `remember()` in a web-tier process: `announced` is the products version its
 * client had heard announced when the read began, `revision` the one it returned.
 */
export interface ReadLine {
  type: 'read';
  reader: number;
  product: string;
  start: number;
  end: number;
  revision: number;
  announced: number;
}

/** A fault of the schedule: from its start to the end of its action (recovery is after). */
export interface FaultLine {
  type: 'fault';
  fault: string;
  start: number;
  end: number;
}

/** The last line of the reads: `localHits`, the reads the in-process tier answered (all readers'). */
export interface EndLine {
  type: 'end';
  at: number;
  localHits: number;
}

/** What one window (the steady start, or a fault until the next one) shows. */
export interface WindowFigures {
  name: string;
  /** Seconds from the soak's start. */
  from: number;
  reads: number;
  stale: number;
  changes: number;
  unannounced: number;
  /** Change (committed) → announcement heard, ms: p50, p99, max. */
  announce: [number, number, number] | null;
  /** Change (committed) → the end of the first read begun after it that returned it (or newer). */
  fresh: [number, number, number] | null;
}

export interface SoakFigures {
  reads: number;
  stale: number;
  /** Reads begun after the soak itself heard a change announced that returned an older revision. */
  staleByClock: number;
  nines: number;
  changes: number;
  faults: number;
  readsPerSecond: number;
  /**
   * The in-process tier, null when no reader had it: the reads of its readers, and how many of
   * them it answered (the readers' `cache_client_local_hits_total`, from the end line).
   */
  local: { reads: number; hits: number } | null;
  windows: WindowFigures[];
}

interface Change extends WriteLine {
  firstFresh?: number;
}

async function* lines(file: string): AsyncGenerator<HistoryLine> {
  const input = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of input) if (line.trim()) yield JSON.parse(line) as HistoryLine;
}

/**
 * Reads a history again and judges it. A read is stale when it returns a revision older than
 * one whose change's version its client had heard announced when it began (the staleness spec's
 * rule, test/support/staleness-race.ts). Two passes: the writes, faults and bounds, then the
 * reads streamed (a million of them need not fit in memory).
 */
export async function checkHistory(file: string): Promise<SoakFigures> {
  let run: RunLine | undefined;
  let endAt = 0;
  let localHits = 0;
  const faults: FaultLine[] = [];
  const byProduct = new Map<string, Change[]>();
  for await (const line of lines(file)) {
    if (line.type === 'run') run = line;
    else if (line.type === 'end') {
      endAt = line.at;
      localHits = line.localHits;
    } else if (line.type === 'fault') faults.push(line);
    else if (line.type === 'write') {
      const list = byProduct.get(line.product) ?? [];
      list.push({ ...line });
      byProduct.set(line.product, list);
    }
  }
  if (!run) throw new Error(`${file}: no run line (not a soak history)`);
  faults.sort((a, b) => a.start - b.start);
  const bounds = [run.at, ...faults.map((f) => f.start)];
  const windowOf = (at: number) => {
    let i = bounds.length - 1;
    while (i > 0 && at < bounds[i]) i--;
    return i;
  };
  const windows = bounds.map((start, i) => ({
    name: i === 0 ? 'steady' : faults[i - 1].fault,
    from: (start - run!.at) / 1000,
    reads: 0,
    stale: 0,
  }));

  const floors = new Map<string, (announced: number) => number>();
  const clockFloors = new Map<string, (at: number) => number>();
  for (const [product, changes] of byProduct) {
    changes.sort((a, b) => a.revision - b.revision);
    const announced = changes.filter((c) => c.version !== null && c.announcedAt !== null);
    floors.set(
      product,
      floorIndex(announced.map((c) => ({ version: c.version!, revision: c.revision }))),
    );
    // The same search over the soak's own hearing times instead of the reader's versions.
    clockFloors.set(
      product,
      floorIndex(announced.map((c) => ({ version: c.announcedAt!, revision: c.revision }))),
    );
  }

  const localReaders = new Set(run.localReaders);
  let localReads = 0;
  let reads = 0;
  let stale = 0;
  let staleByClock = 0;
  let lastEnd = run.at;
  for await (const line of lines(file)) {
    if (line.type !== 'read') continue;
    reads++;
    if (localReaders.has(line.reader)) localReads++;
    lastEnd = Math.max(lastEnd, line.end);
    const window = windows[windowOf(line.start)];
    window.reads++;
    if (line.revision < (floors.get(line.product)?.(line.announced) ?? 1)) {
      stale++;
      window.stale++;
    }
    // Announced strictly before the read began, by the clock.
    if (line.revision < (clockFloors.get(line.product)?.(line.start - 1) ?? 1)) staleByClock++;
    markFresh(byProduct.get(line.product) ?? [], line);
  }

  const allChanges = [...byProduct.values()].flat();
  const figures = windows.map((window, i): WindowFigures => {
    const inWindow = allChanges.filter((c) => windowOf(c.committedAt) === i);
    const announce = inWindow
      .filter((c) => c.announcedAt !== null)
      .map((c) => c.announcedAt! - c.committedAt);
    const fresh = inWindow
      .filter((c) => c.firstFresh !== undefined)
      .map((c) => c.firstFresh! - c.committedAt);
    return {
      ...window,
      changes: inWindow.length,
      unannounced: inWindow.filter((c) => c.announcedAt === null).length,
      announce: spread(announce),
      fresh: spread(fresh),
    };
  });
  const seconds = Math.max(1, (endAt || lastEnd) - run.at) / 1000;
  return {
    reads,
    stale,
    staleByClock,
    nines: freshnessNines(reads, stale),
    changes: allChanges.length,
    faults: faults.length,
    readsPerSecond: reads / seconds,
    local: localReaders.size > 0 ? { reads: localReads, hits: localHits } : null,
    windows: figures,
  };
}

/**
 * The read is fresh for every change of its product at or below its revision committed before it
 * began; each such change keeps the earliest end. A read fresh for a change is fresh for every
 * older one, so the walk down stops at the first change that already has an earlier one.
 */
function markFresh(changes: Change[], read: ReadLine): void {
  let k = upperIndex(changes, read.revision);
  for (; k >= 0; k--) {
    const change = changes[k];
    if (change.committedAt > read.start) continue;
    if (change.firstFresh !== undefined && change.firstFresh <= read.end) break;
    change.firstFresh = read.end;
  }
}

/** The index of the last change with a revision at most `revision` (-1 when none). */
function upperIndex(changes: Change[], revision: number): number {
  let low = 0;
  let high = changes.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (changes[mid].revision <= revision) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

function spread(samples: number[]): [number, number, number] | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return [percentile(sorted, 50), percentile(sorted, 99), sorted[sorted.length - 1]];
}

/** The table (one row per window) and the one closing line. */
export function formatFigures(figures: SoakFigures): string {
  const ms = (s: [number, number, number] | null) =>
    s ? s.map((v) => Math.round(v)).join(' / ') : '-';
  const rows = [
    [
      'window',
      'from s',
      'reads',
      'stale',
      'changes',
      'unannounced',
      'announce p50/p99/max ms',
      'fresh read p50/p99/max ms',
    ],
    ...figures.windows.map((w) => [
      w.name,
      w.from.toFixed(0),
      String(w.reads),
      String(w.stale),
      String(w.changes),
      String(w.unannounced),
      ms(w.announce),
      ms(w.fresh),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const table = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd(),
  );
  const local = figures.local
    ? `${figures.local.hits} of its readers' ${figures.local.reads} reads ` +
      `(${((100 * figures.local.hits) / Math.max(1, figures.local.reads)).toFixed(1)} %)`
    : 'off';
  return [
    ...table,
    `reads/s ${figures.readsPerSecond.toFixed(0)}; stale by the soak's own clock (begun after it heard the announcement): ${figures.staleByClock}`,
    `answered by the in-process tier: ${local}`,
    summaryLine(figures),
  ].join('\n');
}

export function summaryLine(figures: SoakFigures): string {
  return `soak: ${figures.reads} reads, ${figures.stale} stale, ${figures.nines.toFixed(2)} nines vouched, ${figures.changes} changes, ${figures.faults} faults`;
}
