import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { unpackEvents } from './offset-ledger';

/** Where and when an event was applied (within the retention window). */
export interface AppliedEvent {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
  appliedAt: Date;
  fenceToken: string;
}

/** Answers "was this event applied, and when?" from the ledger's batches and the inbox. */
@Injectable()
export class AppliedEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Every application of the event id (a producer's duplicate at a new offset is another). */
  async find(eventId: string): Promise<AppliedEvent[]> {
    const id = eventId.toLowerCase();
    const found: AppliedEvent[] = [];
    const keyed: { topic: string; partition: number; offset: string; processed_at: Date }[] =
      await this.dataSource.query(
        'SELECT topic, `partition`, `offset`, processed_at FROM processed_events WHERE event_id = ?',
        [id],
      );
    for (const row of keyed)
      found.push({
        eventId: id,
        topic: row.topic,
        partition: row.partition,
        offset: String(row.offset),
        appliedAt: row.processed_at,
        fenceToken: '',
      });
    // A scan of the retained batches: an operator's question, not the hot path.
    const batches: {
      topic: string;
      partition: number;
      first_offset: string;
      event_ids: Buffer;
      fence_token: string;
      applied_at: Date;
    }[] = await this.dataSource.query(
      `SELECT topic, \`partition\`, first_offset, event_ids, fence_token, applied_at
       FROM applied_batches WHERE LOCATE(UNHEX(?), event_ids) > 0 ORDER BY id`,
      [id.replace(/-/g, '')],
    );
    for (const batch of batches) {
      for (const event of unpackEvents(batch.event_ids, BigInt(batch.first_offset))) {
        if (event.eventId !== id) continue;
        found.push({
          eventId: id,
          topic: batch.topic,
          partition: batch.partition,
          offset: event.offset.toString(),
          appliedAt: batch.applied_at,
          fenceToken: String(batch.fence_token),
        });
      }
    }
    return found;
  }
}
