import { World } from './world';

/** The topic of seeded history rows: no consumer reads it, so no saga ever touches them. */
export const HISTORY_TOPIC = 'bench.history';

/**
 * Offset-ledger history as the service itself writes it: applied_batches rows of 5,000 packed
 * events (20 bytes each, random ids) up to `events`, applied `ageSeconds` ago. Fast: one row,
 * then doubled by INSERT … SELECT. Returns the events seeded (a multiple of 5,000).
 */
export async function seedLedgerHistory(
  world: World,
  events: number,
  ageSeconds: number,
): Promise<number> {
  const perRow = 5000;
  const rows = Math.ceil(events / perRow);
  await world.sql.query(
    `INSERT INTO applied_batches (topic, \`partition\`, first_offset, next_offset, event_count, event_ids, fence_token, applied_at)
     VALUES (?, 0, 0, ?, ?, RANDOM_BYTES(1024), 0, NOW(6) - INTERVAL ? SECOND)`,
    [HISTORY_TOPIC, perRow, perRow, ageSeconds],
  );
  // Full-size packed rows, doubled up to the count (RANDOM_BYTES caps at 1024 bytes).
  await world.sql.query(
    'UPDATE applied_batches SET event_ids = REPEAT(event_ids, ?) WHERE topic = ?',
    [(perRow * 20) / 1024, HISTORY_TOPIC],
  );
  let have = 1;
  while (have < rows) {
    const take = Math.min(have, rows - have);
    await world.sql.query(
      `INSERT INTO applied_batches (topic, \`partition\`, first_offset, next_offset, event_count, event_ids, fence_token, applied_at)
       SELECT topic, \`partition\`, first_offset, next_offset, event_count, event_ids, fence_token, applied_at
       FROM applied_batches WHERE topic = ? LIMIT ?`,
      [HISTORY_TOPIC, take],
    );
    have += take;
  }
  return rows * perRow;
}
