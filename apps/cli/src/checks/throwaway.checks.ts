import { Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { CacheRepair } from '@invalidator/cache';
import { tagKey } from '@invalidator/client';
import {
  CoherenceRepository,
  THROWAWAY_TYPE_PREFIX,
  VersionRepository,
} from '@invalidator/versioning';
import { ManualBump, ManualBumpResult } from '@invalidator/invalidation';
import { CheckResult, percentiles, timedCheck } from './check-result';

const ACTOR = 'cli:validate-atomic';
const DEADLOCK_TIMEOUT_MS = 120000;

/**
 * Checks 1, 3 and 4: they bump throwaway types (`validate:…`) through the real saga, never
 * `global`, and remove their types, keys and audit rows afterwards.
 */
@Injectable()
export class ThrowawayChecks {
  private readonly run = randomBytes(4).toString('hex');

  constructor(
    private readonly manualBump: ManualBump,
    private readonly versions: VersionRepository,
    private readonly coherence: CoherenceRepository,
    private readonly cache: CacheRepair,
  ) {}

  private type(name: string): string {
    return `${THROWAWAY_TYPE_PREFIX}${this.run}:${name}`;
  }

  private async versionOf(dataType: string): Promise<number> {
    const row = (await this.versions.readAll()).find((r) => r.dataType === dataType);
    return row ? Number(row.version) : 0;
  }

  private bump(dataType: string) {
    return this.manualBump.execute({
      dataTypes: [dataType],
      actor: ACTOR,
      withGlobal: false,
      idempotencyKey: randomUUID(),
    });
  }

  /** Check 1: N concurrent bumps leave the version +N, N audit rows, N distinct hashes. */
  atomicUpdate(n = 10): Promise<CheckResult> {
    return timedCheck('atomic update', async () => {
      const type = this.type('atomic');
      await Promise.all(Array.from({ length: n }, () => this.bump(type)));
      const version = await this.versionOf(type);
      const audit = await this.coherence.auditStats(type);
      const pass =
        version === n &&
        audit.rows === n &&
        audit.distinctHashes === n &&
        audit.distinctVersions === n;
      return {
        pass,
        figures: `${n} concurrent bumps: version ${version}, ${audit.rows} audit rows, ${audit.distinctHashes} distinct hashes`,
        details: { bumps: n, version, ...audit },
      };
    });
  }

  /** Check 3: a tagged probe set is purged whole by a bump; another tag survives. */
  invalidation(): Promise<CheckResult> {
    return timedCheck('invalidation', async () => {
      const probe = this.type('probe');
      const other = this.type('other');
      const probeKeys = [0, 1, 2].map((i) => `${probe}:page:${i}`);
      const otherKeys = [`${other}:page:0`];
      await this.cache.seedTag(probe, probeKeys);
      await this.cache.seedTag(other, otherKeys);
      const result = await this.bump(probe);
      const probeLeft = await this.cache.existing([...probeKeys, tagKey(probe)]);
      const otherLeft = await this.cache.existing([...otherKeys, tagKey(other)]);
      await this.cache.remove([...otherKeys, tagKey(other)]);
      return {
        pass:
          probeLeft.length === 0 &&
          otherLeft.length === 2 &&
          result.invalidatedKeys === probeKeys.length,
        figures: `probe: ${probeKeys.length} keys purged, ${probeLeft.length} left; other tag: ${otherLeft.length}/2 kept`,
        details: { invalidatedKeys: result.invalidatedKeys, probeLeft, otherLeft },
      };
    });
  }

  /** Check 4: N parallel sagas through the real lock: no lost bump, no deadlock. */
  concurrency(n: number, onProgress: (done: number) => void): Promise<CheckResult> {
    return timedCheck('concurrency', async () => {
      const type = this.type('concurrency');
      let done = 0;
      const runs = Array.from({ length: n }, () =>
        this.bump(type).then((r) => {
          onProgress(++done);
          return r;
        }),
      );
      let timer: NodeJS.Timeout | undefined;
      const deadlock = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`deadlock: ${n - done} of ${n} sagas unfinished`)),
          DEADLOCK_TIMEOUT_MS,
        );
      });
      // allSettled: no saga may still be running when the run's types are cleaned up.
      const settled = await Promise.race([Promise.allSettled(runs), deadlock]).finally(() =>
        clearTimeout(timer),
      );
      const failed = settled.filter((r) => r.status === 'rejected');
      if (failed.length > 0) {
        throw new Error(`${failed.length} of ${n} sagas failed: ${String(failed[0].reason)}`);
      }
      const results = settled.map((r) => (r as PromiseFulfilledResult<ManualBumpResult>).value);
      const version = await this.versionOf(type);
      const wait = percentiles(results.map((r) => r.lockWaitMs));
      const duration = percentiles(results.map((r) => r.durationMs));
      const fallbacks = results.filter((r) => r.path === 'fallback').length;
      return {
        pass: version === n,
        figures:
          `${n} sagas: version ${version} (${n - version} lost), ${fallbacks} on the fallback; ` +
          `lock wait p50/p95/p99 ${wait.p50}/${wait.p95}/${wait.p99} ms; duration p50/p95/p99 ${duration.p50}/${duration.p95}/${duration.p99} ms`,
        details: {
          sagas: n,
          version,
          lost: n - version,
          fallbacks,
          lockWaitMs: wait,
          durationMs: duration,
        },
      };
    });
  }

  async cleanUp(): Promise<void> {
    // Only this run's types: another operator's run may be going on.
    await this.coherence.removeThrowaway(`${THROWAWAY_TYPE_PREFIX}${this.run}:`);
    await this.cache.removeVersionKeys(`${THROWAWAY_TYPE_PREFIX}${this.run}:`);
  }
}
