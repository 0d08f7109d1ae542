import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { configOrExit } from '@invalidator/config';
import { CliModule } from './cli.module';
import { migrate } from './migrate';
import { UsageError, exitOnUsageError } from './operator-command';

/** Exit codes: 0 all checks pass, 1 a check fails (or a store error), 2 usage or configuration. */
async function main(): Promise<void> {
  const config = configOrExit('invalidator-cli', { LOG_LEVEL: 'warn', ...process.env });
  if (process.argv[2] === 'migrate') {
    // Without the command framework: no Redis, no saga, only the DDL user's connection.
    const applied = await migrate(config).catch((error: Error) => {
      process.stderr.write(`invalidator-cli: migrate: MySQL: ${error.message}\n`);
      process.exit(1);
    });
    process.stdout.write(
      applied.length ? `applied: ${applied.join(', ')}\n` : 'no pending migration\n',
    );
    process.exit(0);
  }
  await CommandFactory.run(CliModule.forRoot(config), {
    logger: ['error', 'warn'],
    errorHandler: exitOnUsageError,
    serviceErrorHandler: (error: Error) => {
      process.stderr.write(`invalidator-cli: ${error.message}\n`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  });
}

void main();
