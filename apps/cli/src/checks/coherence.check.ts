import { Injectable } from '@nestjs/common';
import { CacheRepair } from '@invalidator/cache';
import { GLOBAL_VERSION_KEY, versionKey } from '@invalidator/client';
import { VersionMove, VersionsBehind } from '@invalidator/invalidation';
import { LockSweeper } from '@invalidator/locking';
import {
  CoherenceRepository,
  THROWAWAY_TYPE_PREFIX,
  VersionRepository,
  globalVersionString,
} from '@invalidator/versioning';
import { CheckResult, timedCheck } from './check-result';

/** One line of the CLI's output for a version MySQL had to move past what Redis held. */
export const describeMove = (m: VersionMove) =>
  `moved ${m.dataType} past v${m.seen}, the highest seen (MySQL had v${m.from}): now v${m.to}`;

/**
 * Check 2: no duplicate (type, version) or (type, hash); every row's hash is the one its audit
 * recorded; Redis version keys equal the MySQL rows; the global string is what the rows derive;
 * no gap in the audit chain; no lock key without TTL. `repair()` mends what can be mended.
 */
@Injectable()
export class CoherenceCheck {
  constructor(
    private readonly coherence: CoherenceRepository,
    private readonly versions: VersionRepository,
    private readonly cache: CacheRepair,
    private readonly locks: LockSweeper,
    private readonly versionsBehind: VersionsBehind,
  ) {}

  private async findings() {
    const rows = (await this.versions.readAll()).filter(
      (r) => !r.dataType.startsWith(THROWAWAY_TYPE_PREFIX),
    );
    const redis = await this.cache.versionKeys(rows.map((r) => r.dataType));
    const redisOutOfStep = rows
      .filter((r) => {
        const stored = redis.types.get(r.dataType);
        return !stored || stored.version !== Number(r.version) || stored.hash !== r.hash;
      })
      .map((r) => r.dataType);
    const expectedGlobal = globalVersionString(rows);
    return {
      rows,
      duplicates: await this.coherence.duplicates(),
      hashMismatches: await this.coherence.hashMismatches(),
      missingRows: await this.coherence.missingRows(),
      gaps: await this.coherence.gaps(),
      redisOutOfStep,
      globalOutOfStep:
        redis.global !== expectedGlobal ? { stored: redis.global, expected: expectedGlobal } : null,
      locksWithoutTtl: (await this.locks.stuck(rows.map((r) => r.dataType))).map((l) => l.key),
    };
  }

  run(): Promise<CheckResult> {
    return timedCheck('coherence', async () => {
      const f = await this.findings();
      const problems =
        f.duplicates.length +
        f.hashMismatches.length +
        f.missingRows.length +
        f.gaps.length +
        f.redisOutOfStep.length +
        (f.globalOutOfStep ? 1 : 0) +
        f.locksWithoutTtl.length;
      const figures = [
        `${f.rows.length} types`,
        `${f.duplicates.length} duplicates`,
        `${f.hashMismatches.length} duplicated/foreign hashes`,
        `${f.missingRows.length} missing rows`,
        `${f.gaps.length} audit gaps`,
        `${f.redisOutOfStep.length + (f.globalOutOfStep ? 1 : 0)} redis keys out of step`,
        `${f.locksWithoutTtl.length} stuck locks`,
      ].join(', ');
      const { rows: _rows, ...details } = f;
      return { pass: problems === 0, figures, details };
    });
  }

  /** Mends what coherence found; returns one line per fix. Audit gaps are history: reported only. */
  async repair(): Promise<string[]> {
    const f = await this.findings();
    const fixes: string[] = [];
    for (const row of f.missingRows) {
      await this.coherence.restoreRow(row.dataType, row.version, row.hash);
      fixes.push(
        `restored the missing version row of ${row.dataType} at version ${row.version} from the audit`,
      );
    }
    for (const m of f.hashMismatches) {
      await this.coherence.restoreHash(m.dataType, m.version, m.auditHash);
      fixes.push(
        `restored the hash of ${m.dataType} v${m.version} from the audit (${m.rowHash.slice(0, 12)}… → ${m.auditHash.slice(0, 12)}…)`,
      );
    }
    // Redis ahead of MySQL (MySQL went back): MySQL moves forward first, so the write below,
    // unconditional as it must be to mend a corrupt key, never moves a key backwards.
    for (const m of (await this.versionsBehind.execute({ actor: 'cli:repair' })).moved)
      fixes.push(describeMove(m));
    const after = await this.findings();
    if (after.redisOutOfStep.length > 0 || after.globalOutOfStep) {
      // Re-read under the rows' shared locks and write while holding them: a saga cannot commit
      // in between, so the unconditional write (it must mend a key that is ahead or corrupt)
      // never moves a key behind a version a running service already published.
      await this.versions.withLockedVersions((locked) => {
        const rows = locked.filter((r) => !r.dataType.startsWith(THROWAWAY_TYPE_PREFIX));
        return this.cache.forcePublish(rows, globalVersionString(rows));
      });
      for (const type of after.redisOutOfStep)
        fixes.push(`republished ${versionKey(type)} from MySQL`);
      if (after.globalOutOfStep) fixes.push(`republished ${GLOBAL_VERSION_KEY} from MySQL`);
    }
    for (const lock of await this.locks.sweep(f.rows.map((r) => r.dataType)))
      fixes.push(`removed stuck lock ${lock.key} (${lock.reason})`);
    for (const gap of f.gaps)
      fixes.push(
        `cannot repair: audit gap in ${gap.dataType} (expected old version ${gap.expected}, found ${gap.found})`,
      );
    for (const d of f.duplicates)
      fixes.push(
        `cannot repair: ${d.count} audit rows of ${d.dataType} share ${d.column} ${d.value.slice(0, 16)}`,
      );
    return fixes;
  }
}
