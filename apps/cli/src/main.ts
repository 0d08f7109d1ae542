import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { ConfigError, parseConfig } from '@invalidator/config';
import { CliModule } from './cli.module';
import { UsageError, exitOnUsageError } from './usage-error';

/** Exit codes: 0 all checks pass, 1 a check fails (or a store error), 2 usage or configuration. */
async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig({ LOG_LEVEL: 'warn', ...process.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`invalidator-cli: ${error.message}\n`);
    process.exit(2);
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
