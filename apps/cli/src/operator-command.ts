import { CommandRunner } from 'nest-commander';

// nest-commander's own commander, which may differ from the one at the top of node_modules.
type Command = Parameters<CommandRunner['setCommand']>[0];
type CommanderError = Error & { code: string };

/** A usage or configuration error: the CLI exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Commander's parse errors (unknown option, missing argument) exit 2; help exits 0. */
export function exitOnUsageError(error: Error): never {
  const { code } = error as CommanderError;
  if (code === 'commander.helpDisplayed' || code === 'commander.help') process.exit(0);
  process.exit(2);
}

/**
 * nest-commander applies its errorHandler to the root program only, after the subcommands
 * are built, so they would exit 1 on a usage error: each command sets it on itself.
 */
export abstract class OperatorCommand extends CommandRunner {
  override setCommand(command: Command): this {
    command.exitOverride(exitOnUsageError);
    return super.setCommand(command);
  }
}
