import { Command, Option } from 'nest-commander';
import { CacheRepair, TagPurger } from '@invalidator/cache';
import { GLOBAL_VERSION_KEY } from '@invalidator/client';
import { VersionsBehind } from '@invalidator/invalidation';
import { VersionRepository, globalVersionString } from '@invalidator/versioning';
import { CheckResult, printTable } from './checks/check-result';
import { CoherenceCheck, describeMove } from './checks/coherence.check';
import { ThrowawayChecks } from './checks/throwaway.checks';
import { OperatorCommand, UsageError } from './operator-command';

interface Options {
  testConcurrency?: boolean;
  stressTest?: number;
  clearCache?: boolean;
  repair?: boolean;
  json?: boolean;
}

const DEFAULT_CONCURRENCY = 20;

@Command({
  name: 'validate-atomic',
  description:
    'Check atomic updates, coherence, invalidation and (optionally) concurrency against the live stores',
})
export class ValidateAtomicCommand extends OperatorCommand {
  constructor(
    private readonly coherence: CoherenceCheck,
    private readonly throwaway: ThrowawayChecks,
    private readonly cache: CacheRepair,
    private readonly purger: TagPurger,
    private readonly versions: VersionRepository,
    private readonly versionsBehind: VersionsBehind,
  ) {
    super();
  }

  async run(_params: string[], options: Options = {}): Promise<void> {
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const actions: string[] = [];
    if (options.clearCache) actions.push(...(await this.clearCache()));
    if (options.repair) actions.push(...(await this.coherence.repair()));
    if (!options.json) actions.forEach((a) => log(a));

    const results: CheckResult[] = [];
    try {
      results.push(await this.throwaway.atomicUpdate());
      results.push(await this.coherence.run());
      results.push(await this.throwaway.invalidation());
      const n = options.stressTest ?? (options.testConcurrency ? DEFAULT_CONCURRENCY : 0);
      if (n > 0) results.push(await this.throwaway.concurrency(n, progressBar(n)));
    } finally {
      await this.throwaway.cleanUp();
    }

    const pass = results.every((r) => r.pass);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ pass, actions, checks: results }, null, 2)}\n`);
    } else {
      printTable(results, process.stdout);
      process.stdout.write(pass ? 'all checks passed\n' : 'some checks FAILED\n');
    }
    process.exitCode = pass ? 0 : 1;
  }

  /** Purges every tag set and republishes the version keys from MySQL (latest committed). */
  private async clearCache(): Promise<string[]> {
    const tags = await this.cache.tags();
    const purged = await this.purger.purge(tags);
    // MySQL behind Redis is moved forward first: republishing it as it stood would move Redis back.
    const moved = (await this.versionsBehind.execute({ actor: 'cli:clear-cache' })).moved;
    // Under the rows' shared locks: a saga cannot commit a newer version between this read and
    // the write, so the unconditional write never moves a key backwards.
    const rows = await this.versions.withLockedVersions(async (locked) => {
      await this.cache.forcePublish(locked, globalVersionString(locked));
      return locked;
    });
    return [
      `cleared ${purged.tags} tag sets (${purged.keys} keys)`,
      ...moved.map(describeMove),
      `republished ${rows.length} version keys and ${GLOBAL_VERSION_KEY} from MySQL`,
    ];
  }

  @Option({
    flags: '--test-concurrency',
    description: `run the concurrency check with ${DEFAULT_CONCURRENCY} parallel sagas`,
  })
  parseTestConcurrency(): boolean {
    return true;
  }

  @Option({
    flags: '--stress-test <n>',
    description: 'run the concurrency check with N parallel sagas',
  })
  parseStressTest(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 10000)
      throw new UsageError(`--stress-test takes a whole number from 1 to 10000, not "${value}"`);
    return n;
  }

  @Option({
    flags: '--clear-cache',
    description: 'purge every tag set and republish the version keys from MySQL first',
  })
  parseClearCache(): boolean {
    return true;
  }

  @Option({
    flags: '--repair',
    description: 'fix what the coherence check finds, printing each fix, then check',
  })
  parseRepair(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print a machine-readable report' })
  parseJson(): boolean {
    return true;
  }
}

/** A progress bar on a terminal (stderr), nothing when piped. */
function progressBar(total: number): (done: number) => void {
  if (!process.stderr.isTTY) return () => undefined;
  return (done) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done === total) process.stderr.write('\n');
  };
}
