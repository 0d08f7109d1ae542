import { Command, Option, SubCommand } from 'nest-commander';
import { DeadLetterReplay, ReplayOutcome } from './dead-letter-replay';
import { OperatorCommand, UsageError } from './operator-command';

interface ReplayOptions {
  fromOffset?: bigint;
  reason?: string;
}

const line = (o: ReplayOutcome) =>
  [
    o.skipped ? 'skipped' : 'replayed',
    o.letter,
    `-> ${o.topic || '?'}${o.partition === undefined ? '' : `[${o.partition}]`}`,
    `original offset ${o.originalOffset}`,
    o.eventId ?? '(no event id)',
    o.skipped ?? o.reason,
  ].join('\t');

@SubCommand({
  name: 'replay',
  description:
    'Republish dead letters to their original topic, key and value unchanged (the same event ids); prints each',
})
export class DlqReplayCommand extends OperatorCommand {
  constructor(private readonly replay: DeadLetterReplay) {
    super();
  }

  @Option({
    flags: '--from-offset <n>',
    description: "the dead-letter topic's own offset to start at, on each partition (default 0)",
  })
  parseFromOffset(value: string): bigint {
    if (!/^\d{1,19}$/.test(value))
      throw new UsageError(`--from-offset must be an offset (0 or more), got "${value}"`);
    return BigInt(value);
  }

  @Option({
    flags: '--reason <prefix>',
    description: 'only letters whose x-error-reason starts with it (e.g. poison)',
  })
  parseReason(value: string): string {
    return value;
  }

  async run(_args: string[], options: ReplayOptions = {}): Promise<void> {
    const totals = await this.replay.replay(
      { fromOffset: options.fromOffset ?? 0n, reason: options.reason },
      (outcome) => process.stdout.write(`${line(outcome)}\n`),
    );
    process.stdout.write(
      `replayed ${totals.replayed} of ${totals.read} dead letters read` +
        `${totals.skipped ? ` (${totals.skipped} skipped)` : ''}\n`,
    );
  }
}

@Command({
  name: 'dlq',
  description: 'The dead-letter topic: `dlq replay` sends letters back once their cause is fixed',
  subCommands: [DlqReplayCommand],
})
export class DlqCommand extends OperatorCommand {
  async run(): Promise<void> {
    this.command.help();
  }
}
