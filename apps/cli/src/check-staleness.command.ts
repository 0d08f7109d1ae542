import { Command, Option } from 'nest-commander';
import { StalenessSampler } from '@invalidator/cache';
import { VersionAuditRepository } from '@invalidator/versioning';
import { OperatorCommand, UsageError } from './operator-command';

interface CheckStalenessOptions {
  samples: number;
  json?: boolean;
}

@Command({
  name: 'check-staleness',
  description:
    "Sample the web tier's cached entries through the tag sets; report those stored after a newer version than their fill noted, as a ratio and in nines",
})
export class CheckStalenessCommand extends OperatorCommand {
  constructor(
    private readonly sampler: StalenessSampler,
    private readonly audit: VersionAuditRepository,
  ) {
    super();
  }

  @Option({ flags: '--samples <n>', description: 'entries to sample (default 100)' })
  parseSamples(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 1000000) {
      throw new UsageError(`--samples must be an integer from 1 to 1000000, got "${value}"`);
    }
    return n;
  }

  @Option({ flags: '--json', description: 'a machine-readable report on stdout' })
  parseJson(): boolean {
    return true;
  }

  private readonly bumpedAt = async (type: string, version: number) =>
    (await this.audit.bumpedAt(type, version))?.getTime();

  async run(_args: string[], options: Partial<CheckStalenessOptions> = {}): Promise<void> {
    // One full pass of the keyspace: an operator's check draws from every tag set.
    const sample = await this.sampler.sample(
      options.samples ?? 100,
      this.bumpedAt,
      Number.POSITIVE_INFINITY,
    );
    if (options.json) {
      process.stdout.write(`${JSON.stringify(sample)}\n`);
      return;
    }
    process.stdout.write(
      `sampled ${sample.sampled} entries (${sample.skipped} skipped: gone or not the client's format)\n` +
        `stale   ${sample.stale}\n` +
        `ratio   ${sample.ratio}\n` +
        `nines   ${sample.nines.toFixed(2)}${sample.stale === 0 ? ' (no stale entry: at least)' : ''}\n`,
    );
  }
}
