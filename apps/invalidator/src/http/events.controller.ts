import {
  BadRequestException,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
} from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { AppliedEventsRepository } from '@invalidator/versioning';

const eventId = z.uuid();

/** "Was this event applied, and when?" within INBOX_RETENTION_HOURS. */
@Controller('events')
export class EventsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly applied: AppliedEventsRepository,
  ) {}

  @Get(':eventId')
  async find(@Param('eventId') id: string) {
    if (!eventId.safeParse(id).success)
      throw new BadRequestException(`not an event id (a UUID): ${JSON.stringify(id.slice(0, 64))}`);
    const applications = await this.applied.find(id);
    const retentionHours = this.config.INBOX_RETENTION_HOURS;
    if (applications.length === 0) {
      throw new NotFoundException({
        eventId: id.toLowerCase(),
        applied: false,
        message: `not applied within the retention window (${retentionHours} h)`,
      });
    }
    return { eventId: id.toLowerCase(), applied: true, retentionHours, applications };
  }
}
