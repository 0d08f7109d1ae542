import { randomUUID } from 'node:crypto';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { categoryUpdated, productUpdated } from './support/events';
import { World } from './support/world';

describe('invalidation saga (real Kafka, MariaDB, Redis)', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('saga');
    service = await ServiceProcess.start(world.env);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a ProductUpdated bumps products and global by one, publishes versions, purges its tags only', async () => {
    await world.tag('products', ['page:list:1', 'page:list:2']);
    await world.tag('product:123', ['page:product:123']);
    await world.tag('category:7', ['page:cat:7']);
    await world.tag('category:9', ['page:cat:9']);
    await world.tag('product:999', ['page:product:999']);
    await world.tag('categories', ['page:cats']);
    const before = await world.versions();
    const event = productUpdated({ productId: 123, categoryIds: ['7', 9] });

    await world.publish([event]);
    await world.waitApplied([event.eventId], 1);

    const after = await world.versions();
    expect(after.products).toBe(before.products + 1);
    expect(after.global).toBe(before.global + 1);
    expect(after.categories).toBe(before.categories);

    const published = JSON.parse((await world.redis.get('shop.version.products')) ?? '{}');
    expect(published.version).toBe(after.products);
    expect(published.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(new Date(published.updatedAt).getTime()).toBeGreaterThan(0);
    const global = await world.redis.get('inertia.data.version');
    expect(global).toMatch(new RegExp(`^${after.global}\\.[0-9a-f]{16}$`));

    for (const tag of ['products', 'product:123', 'category:7', 'category:9']) {
      expect(await world.exists(`shop.tag.${tag}`)).toBe(false);
    }
    for (const key of [
      'page:list:1',
      'page:list:2',
      'page:product:123',
      'page:cat:7',
      'page:cat:9',
    ]) {
      expect(await world.exists(key)).toBe(false);
    }
    expect(await world.exists('shop.tag.product:999')).toBe(true);
    expect(await world.exists('page:product:999')).toBe(true);
    expect(await world.exists('shop.tag.categories')).toBe(true);
    expect(await world.exists('page:cats')).toBe(true);

    const [saga] = service.logLines('invalidation saga completed');
    expect(saga).toMatchObject({
      data_types: ['global', 'products'],
      events: 1,
      outcome: 'success',
    });
    expect(saga.invalidated_keys).toBe(5);
    expect(typeof saga.duration_ms).toBe('number');
  });

  it('a CategoryUpdated bumps categories, products and global, and /versions serves them with an ETag', async () => {
    const before = await world.versions();
    const event = categoryUpdated(7);
    await world.publish([event]);
    await waitFor(
      'the event in the inbox',
      async () => (await world.inboxCount([event.eventId])) === 1,
    );
    const after = await world.versions();
    expect(after).toEqual({
      categories: before.categories + 1,
      products: before.products + 1,
      global: before.global + 1,
    });

    const res = await fetch(`${service.url}/versions`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      global: string;
      versions: Record<string, { version: number }>;
    };
    expect(body.versions.categories.version).toBe(after.categories);
    expect(body.global).toBe(await world.redis.get('inertia.data.version'));
    const etag = res.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${service.url}/versions`, {
      headers: { 'If-None-Match': etag ?? '' },
    });
    expect(again.status).toBe(304);
  });

  it('the same event twice in one batch bumps once; resent at a new offset it is a new delivery, and /events names both', async () => {
    const before = await world.versions();
    const event = productUpdated({ productId: 'dup-1' });
    await world.publish([event, event]);
    await waitFor(
      'the batch committed',
      async () => (await world.inboxCount([event.eventId])) === 1,
    );
    expect(await world.versions()).toEqual({
      ...before,
      products: before.products + 1,
      global: before.global + 1,
    });
    expect(await service.metric('invalidator_events_total', { outcome: 'duplicate' })).toBe(1);

    // Exactly-once is per offset (the ledger): a producer's resend is read again, applied again.
    await world.tag('product:dup-1', ['page:product:dup-1']);
    await world.publish([event]);
    await waitFor(
      'the resend applied',
      async () => (await world.inboxCount([event.eventId])) === 2,
    );
    expect((await world.versions()).products).toBe(before.products + 2);
    expect(await world.exists('page:product:dup-1')).toBe(false);
    const res = await fetch(`${service.url}/events/${event.eventId.toUpperCase()}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { applied: boolean; applications: { offset: string }[] };
    expect(body.applied).toBe(true);
    expect(body.applications).toHaveLength(2);
    expect(Number(body.applications[1].offset)).toBeGreaterThan(
      Number(body.applications[0].offset),
    );
    expect((await fetch(`${service.url}/events/${randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${service.url}/events/not-a-uuid`)).status).toBe(400);
  });

  it('500 events over 50 products: each id in the inbox once, versions grew by the batches that touched them', async () => {
    const before = await world.versions();
    const auditBefore = (await world.audit()).length;
    const events = Array.from({ length: 500 }, (_, i) =>
      productUpdated({ productId: `p${i % 50}`, categoryIds: [(i % 7) + 1] }),
    );
    await world.publish(events);
    const ids = events.map((e) => e.eventId);
    await waitFor(
      'all 500 in the inbox',
      async () => (await world.inboxCount(ids)) === 500,
      120000,
    );

    // Each id applied once, at one offset; no offset applied twice.
    const applied = (await world.appliedEvents()).filter((e) => ids.includes(e.eventId));
    expect(applied.map((e) => e.eventId).sort()).toEqual([...ids].sort());
    expect(new Set(applied.map((e) => `${e.partition}@${e.offset}`)).size).toBe(500);
    const audit = (await world.audit()).slice(auditBefore);
    const after = await world.versions();
    const batchesTouching = (type: string) => audit.filter((a) => a.data_type === type).length;
    expect(after.products - before.products).toBe(batchesTouching('products'));
    expect(after.global - before.global).toBe(batchesTouching('global'));
    expect(after.categories).toBe(before.categories);
    // Every bump accounts for its events: the applied_batches of its fence token name them.
    const tokens = audit.filter((a) => a.data_type === 'products').map((a) => a.fence_token);
    const [{ n }] = await world.query<{ n: string }>(
      'SELECT SUM(event_count) AS n FROM applied_batches WHERE fence_token IN (?)',
      [tokens],
    );
    expect(Number(n)).toBe(500);
    // Batches coalesce: far fewer bumps than events.
    expect(batchesTouching('products')).toBeLessThan(500);
  });
});
