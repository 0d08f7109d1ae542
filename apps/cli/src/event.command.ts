import { Command } from 'nest-commander';
import { z } from 'zod';
import { AppliedEventsRepository } from '@invalidator/versioning';
import { OperatorCommand, UsageError } from './usage-error';

@Command({
  name: 'event',
  arguments: '<eventId>',
  description:
    'Was this event applied, and when? Prints topic, partition, offset and time of each application (within INBOX_RETENTION_HOURS); exits 1 when not found',
})
export class EventCommand extends OperatorCommand {
  constructor(private readonly applied: AppliedEventsRepository) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    if (!z.uuid().safeParse(id).success) throw new UsageError(`not an event id (a UUID): "${id}"`);
    const found = await this.applied.find(id);
    if (found.length === 0) {
      process.stdout.write(`${id.toLowerCase()}\tnot applied (within the retention window)\n`);
      process.exitCode = 1;
      return;
    }
    for (const a of found) {
      process.stdout.write(
        `${a.eventId}\tapplied ${a.appliedAt.toISOString()}\t${a.topic}[${a.partition}]@${a.offset}\n`,
      );
    }
  }
}
