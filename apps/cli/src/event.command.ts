import { Inject } from '@nestjs/common';
import { Command } from 'nest-commander';
import { z } from 'zod';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { AppliedEventsRepository } from '@invalidator/versioning';
import { OperatorCommand, UsageError } from './operator-command';

@Command({
  name: 'event',
  arguments: '<eventId>',
  description:
    'Was this event applied, and when? Prints topic, partition, offset and time of each application (a Kafka event within EVENT_LOOKUP_WINDOW_MINUTES, a bump key within INBOX_RETENTION_HOURS); exits 1 when not found',
})
export class EventCommand extends OperatorCommand {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly applied: AppliedEventsRepository,
  ) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    if (!z.uuid().safeParse(id).success) throw new UsageError(`not an event id (a UUID): "${id}"`);
    const found = await this.applied.find(id);
    if (found.length === 0) {
      const window = this.config.EVENT_LOOKUP_WINDOW_MINUTES;
      process.stdout.write(
        `${id.toLowerCase()}\tnot applied (within the lookup window: the last ${window} min)\n`,
      );
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
