import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestEvent, categoryUpdated, productUpdated } from './events';
import { waitFor } from './test-env';
import { World } from './world';

/** A mixed load: mostly products over many ids, one in ten a category. */
export function mixedLoad(count: number, prefix = 'f'): TestEvent[] {
  return Array.from({ length: count }, (_, i) =>
    i % 10 === 0
      ? categoryUpdated(`${prefix}c${i % 17}`)
      : productUpdated({ productId: `${prefix}p${i % 400}`, categoryIds: [`${prefix}c${i % 17}`] }),
  );
}

/** Tags the web tier would have written for the entities of a load, each with one key. */
export async function seedTags(world: World, events: TestEvent[]): Promise<string[]> {
  const tags = new Set<string>(['products', 'categories']);
  for (const event of events) {
    if (event.type === 'ProductUpdated') {
      tags.add(`product:${event.productId}`);
      event.categoryIds.forEach((c) => tags.add(`category:${c}`));
    } else {
      tags.add(`category:${event.categoryId}`);
    }
  }
  for (const tag of tags) await world.tag(tag, [`page:${tag}`]);
  return [...tags];
}

/** Publishes in chunks in the background, so faults land mid-load. Resolves when all are sent. */
export function publishInBackground(
  world: World,
  events: { key: string; value: string | Buffer }[] | TestEvent[],
  chunk = 100,
  pauseMs = 25,
) {
  return (async () => {
    for (let i = 0; i < events.length; i += chunk) {
      await world.publish(events.slice(i, i + chunk) as TestEvent[]);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
}

export async function waitDrained(
  world: World,
  goodIds: string[],
  timeoutMs = Number(process.env.FAULT_DRAIN_TIMEOUT_MS ?? 240000),
): Promise<void> {
  await waitFor(
    `all ${goodIds.length} good events in the inbox`,
    async () => (await world.inboxCount(goodIds)) === goodIds.length,
    timeoutMs,
    500,
  );
}

/**
 * The one oracle of the fault suite: every published event id is applied (the offset ledger)
 * or in the DLQ, exactly once, and no offset is applied twice; each type's version equals its
 * committed bumps in the audit (an unbroken chain); Redis shows the versions MySQL has; no
 * seeded tag set of a processed event survives.
 */
export async function expectOracle(
  world: World,
  goodIds: string[],
  badCount: number,
  seededTags: string[],
) {
  expect(await world.inboxCount(goodIds)).toBe(goodIds.length);
  expect(await world.inboxCount()).toBe(goodIds.length);
  // In the offset ledger's terms: no offset of any partition applied twice.
  const offsets = (await world.appliedEvents()).map((e) => `${e.topic}/${e.partition}@${e.offset}`);
  expect(new Set(offsets).size).toBe(offsets.length);
  const letters = await world.dlqMessages();
  expect(letters).toHaveLength(badCount);
  const good = new Set(goodIds);
  const lettered = letters.map((l) => {
    try {
      return (JSON.parse(l.value) as { eventId?: string }).eventId;
    } catch {
      return undefined;
    }
  });
  expect(lettered.filter((id) => id !== undefined && good.has(id))).toEqual([]);

  const versions = await world.versions();
  const audit = await world.audit();
  for (const [type, version] of Object.entries(versions)) {
    const rows = audit
      .filter((a) => a.data_type === type)
      .map((a) => [Number(a.old_version), Number(a.new_version)])
      .sort((a, b) => a[1] - b[1]);
    expect(rows).toHaveLength(version);
    rows.forEach(([old, next], i) => expect([old, next]).toEqual([i, i + 1]));
    const published = JSON.parse(
      (await world.redis.get(`shop.version.${type}`)) ?? '{"version":0}',
    );
    expect(published.version).toBe(version);
  }
  const surviving = [];
  for (const tag of seededTags) if (await world.exists(`shop.tag.${tag}`)) surviving.push(tag);
  expect(surviving).toEqual([]);
}

/**
 * The end of every fault case: the load finishes, the backlog drains, the oracle holds, and the
 * figures are reported (time to drain counted from the end of the fault).
 */
export async function drainAndCheck(
  world: World,
  run: {
    case: string;
    events: TestEvent[];
    tags: string[];
    faults: string;
    faultEnded: number;
    publishing?: Promise<void>;
  },
): Promise<void> {
  await run.publishing;
  const ids = run.events.map((e) => e.eventId);
  await waitDrained(world, ids);
  const drainMs = Date.now() - run.faultEnded;
  await expectOracle(world, ids, 0, run.tags);
  reportFigures({
    case: run.case,
    events: ids.length,
    bad: 0,
    faults: run.faults,
    drainMs,
    dlq: 0,
  });
}

export interface FaultFigures {
  case: string;
  events: number;
  bad: number;
  faults: string;
  drainMs: number;
  dlq: number;
}

/** One line per case on the console, and the same in .stack/fault-report.json. */
export function reportFigures(figures: FaultFigures): void {
  const line = `fault ${figures.case}: ${figures.events} events (${figures.bad} bad), faults: ${figures.faults}; drained ${figures.drainMs} ms after the fault; DLQ ${figures.dlq}`;
  console.log(line);
  const dir = join(__dirname, '..', '..', '.stack');
  mkdirSync(dir, { recursive: true });
  appendFileSync(
    join(dir, 'fault-report.json'),
    `${JSON.stringify({ ...figures, at: new Date().toISOString() })}\n`,
  );
}
