import { Command } from 'nest-commander';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { dataTypeName } from '@invalidator/contracts';
import { ManualBump } from '@invalidator/invalidation';
import { OperatorCommand, UsageError } from './operator-command';

@Command({
  name: 'bump',
  arguments: '<types...>',
  description:
    'Bump the versions of the given data types (and global) through the saga, audited as cli:<user>; applied once (an idempotency key per invocation)',
})
export class BumpCommand extends OperatorCommand {
  constructor(private readonly manualBump: ManualBump) {
    super();
  }

  async run(types: string[]): Promise<void> {
    for (const type of types) {
      const parsed = dataTypeName.safeParse(type);
      if (!parsed.success)
        throw new UsageError(`bad data type "${type}": ${parsed.error.issues[0].message}`);
    }
    // One key per invocation: the saga's retries (a failure after COMMIT) bump once.
    const result = await this.manualBump.execute({
      dataTypes: types,
      actor: `cli:${userInfo().username}`,
      idempotencyKey: randomUUID(),
    });
    for (const v of result.versions)
      process.stdout.write(`${v.dataType}\t${v.version}\t${v.hash}\n`);
    process.stdout.write(`purged ${result.invalidatedKeys} keys (${result.path} path)\n`);
  }
}
