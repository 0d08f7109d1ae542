import {
  BadRequestException,
  Controller,
  Get,
  HttpException,
  HttpStatus,
  Inject,
  NotFoundException,
  Param,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import {
  AppliedEventsRepository,
  EventLookupBusyError,
  EventLookupTimeoutError,
} from '@invalidator/versioning';

const eventId = z.uuid();

/**
 * "Was this event applied, and when?": a Kafka event within EVENT_LOOKUP_WINDOW_MINUTES, a
 * manual bump's key within INBOX_RETENTION_HOURS. Bounded and throttled (429, 503).
 */
@Controller('events')
export class EventsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly applied: AppliedEventsRepository,
  ) {}

  @Get(':eventId')
  async find(@Param('eventId') id: string, @Res({ passthrough: true }) res: Response) {
    if (!eventId.safeParse(id).success)
      throw new BadRequestException(`not an event id (a UUID): ${JSON.stringify(id.slice(0, 64))}`);
    const event = id.toLowerCase();
    const windowMinutes = this.config.EVENT_LOOKUP_WINDOW_MINUTES;
    let applications;
    try {
      applications = await this.applied.find(id);
    } catch (error) {
      if (!(error instanceof EventLookupBusyError || error instanceof EventLookupTimeoutError))
        throw error;
      res.setHeader('Retry-After', '1');
      const status =
        error instanceof EventLookupBusyError
          ? HttpStatus.TOO_MANY_REQUESTS
          : HttpStatus.SERVICE_UNAVAILABLE;
      throw new HttpException({ eventId: event, applied: null, message: error.message }, status);
    }
    if (applications.length === 0) {
      throw new NotFoundException({
        eventId: event,
        applied: false,
        windowMinutes,
        message: `not applied within the lookup window (the last ${windowMinutes} min of the ledger)`,
      });
    }
    return { eventId: event, applied: true, windowMinutes, applications };
  }
}
