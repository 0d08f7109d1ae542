import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryLine, checkHistory, formatFigures, summaryLine } from './history';

const run: HistoryLine = {
  type: 'run',
  at: 1000,
  seconds: 10,
  versionCheck: true,
  localReaders: [],
  readers: 1,
  concurrency: 1,
  products: ['a'],
  fillDelayMs: 0,
  redis: 'single',
};
const write = (
  revision: number,
  committedAt: number,
  version: number | null,
  announcedAt: number | null,
): HistoryLine => ({
  type: 'write',
  product: 'a',
  revision,
  eventId: `e${revision}`,
  sentAt: committedAt - 5,
  committedAt,
  version,
  announcedAt,
});
const read = (start: number, revision: number, announced: number, reader = 1): HistoryLine => ({
  type: 'read',
  reader,
  product: 'a',
  start,
  end: start + 10,
  revision,
  announced,
});

function historyOf(lines: HistoryLine[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'soak-')), 'history.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
  return file;
}

describe('the soak history checker', () => {
  it('counts a read stale only when its client had heard a newer change announced', async () => {
    const figures = await checkHistory(
      historyOf([
        run,
        write(2, 2000, 5, 2100),
        write(3, 4000, 7, 4200),
        read(1500, 1, 0), // before any change: fresh
        read(2050, 1, 4), // change 2 committed, not yet announced to it: not stale
        read(2200, 1, 5), // change 2 announced to its client: stale
        read(2300, 2, 5), // fresh
        read(4300, 2, 6), // its client had not heard version 7: not stale (by the clock it is)
        { type: 'fault', fault: 'redis-restart', start: 3000, end: 3200 },
        { type: 'end', at: 6000, localHits: 0 },
      ]),
    );
    expect(figures.reads).toBe(5);
    expect(figures.stale).toBe(1);
    expect(figures.staleByClock).toBe(2);
    expect(figures.changes).toBe(2);
    expect(figures.faults).toBe(1);
    expect(figures.windows.map((w) => [w.name, w.reads, w.stale, w.changes])).toEqual([
      ['steady', 4, 1, 1],
      ['redis-restart', 1, 0, 1],
    ]);
    // Change 2: announced 100 ms after its commit, first fresh read ended at 2310.
    expect(figures.windows[0].announce).toEqual([100, 100, 100]);
    expect(figures.windows[0].fresh).toEqual([310, 310, 310]);
    // Change 3: announced, never read fresh.
    expect(figures.windows[1].fresh).toBeNull();
    expect(summaryLine(figures)).toBe(
      'soak: 5 reads, 1 stale, 0.70 nines vouched, 2 changes, 1 faults',
    );
  });

  it('vouches log10(reads) nines when none is stale, and counts a change never announced', async () => {
    const figures = await checkHistory(
      historyOf([
        run,
        write(2, 2000, null, null),
        ...Array.from({ length: 100 }, (_, i) => read(1100 + i, 1, 0)),
      ]),
    );
    expect(figures.stale).toBe(0);
    expect(figures.nines).toBe(2);
    expect(figures.windows[0].unannounced).toBe(1);
    expect(figures.local).toBeNull();
    expect(formatFigures(figures)).toContain('answered by the in-process tier: off\n');
    expect(summaryLine(figures)).toBe(
      'soak: 100 reads, 0 stale, 2.00 nines vouched, 1 changes, 0 faults',
    );
  });

  it("gives the in-process tier's share of its own readers' reads", async () => {
    const figures = await checkHistory(
      historyOf([
        { ...run, readers: 2, localReaders: [1] },
        ...Array.from({ length: 8 }, (_, i) => read(1100 + i, 1, 0, 1)),
        ...Array.from({ length: 4 }, (_, i) => read(1100 + i, 1, 0, 2)),
        { type: 'end', at: 2000, localHits: 6 },
      ]),
    );
    expect(figures.reads).toBe(12);
    expect(figures.local).toEqual({ reads: 8, hits: 6 });
    expect(formatFigures(figures)).toContain(
      "answered by the in-process tier: 6 of its readers' 8 reads (75.0 %)\n",
    );
  });
});
