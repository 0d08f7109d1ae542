import { join } from 'node:path';
import { formatFigures } from './history';
import { FAULTS, ROOT, SoakResult, runSoak, soakOptionsFromEnv } from './run-soak';

jest.setTimeout(600000);

const SECONDS = Number(process.env.TEST_SOAK_SECONDS ?? 60);

/**
 * `npm run soak`, short: a minute with the version check and every fault of the schedule once,
 * half the readers with the client's in-process tier (SOAK_LOCAL=half: its entries must drop on
 * every announcement, through the faults, beside readers of Redis alone), then a minute with the
 * check off (plain cache-aside with tags), which must count stale reads, or the soak could not
 * see them.
 */
describe('the soak: checked reads under faults (short)', () => {
  const soak = (check: 'on' | 'off', local = ''): Promise<SoakResult> => {
    const options = soakOptionsFromEnv({
      SOAK_SECONDS: String(SECONDS),
      SOAK_CHECK: check,
      SOAK_LOCAL: local,
      SOAK_HISTORY: join(ROOT, '.stack', `soak-spec-${check}.jsonl`),
    });
    return runSoak(options);
  };

  it('0 stale reads with the version check through every fault (the in-process tier in half the readers), every change announced; stale reads without it', async () => {
    const checked = await soak('on', 'half');
    console.log(`with the check (${checked.historyFile}):\n${formatFigures(checked.figures)}`);
    expect(checked.figures.faults).toBe(FAULTS.length);
    // About 1,000 reads a second here; fewer than 10,000 in a minute means the readers stalled.
    expect(checked.figures.reads).toBeGreaterThan(10000);
    expect(checked.figures.changes).toBeGreaterThan(100);
    expect(checked.staleFillsRejected).toBeGreaterThan(0);
    expect(checked.figures.windows.map((w) => [w.name, w.stale])).toEqual(
      checked.figures.windows.map((w) => [w.name, 0]),
    );
    expect(checked.figures.stale).toBe(0);
    // The tier answered reads (its readers, 1 and 3, did about half the reads), none stale.
    expect(checked.figures.local?.reads).toBeGreaterThan(5000);
    expect(checked.figures.local?.hits).toBeGreaterThan(0);
    // Nothing lost to a fault: every committed change was announced before the soak ended.
    expect(checked.figures.windows.reduce((n, w) => n + w.unannounced, 0)).toBe(0);

    const unchecked = await soak('off');
    console.log(
      `without the check (${unchecked.historyFile}):\n${formatFigures(unchecked.figures)}`,
    );
    expect(unchecked.figures.reads).toBeGreaterThan(10000);
    expect(unchecked.figures.stale).toBeGreaterThan(0);
  });
});
