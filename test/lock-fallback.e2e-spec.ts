import { ServiceProcess } from './support/service-process';
import { productUpdated } from './support/events';
import { World } from './support/world';

describe('lock fallback', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('fallback');
    service = await ServiceProcess.start(world.env, {
      LOCK_RETRY_ATTEMPTS: '3',
      LOCK_RETRY_DELAY_MS: '100',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a lock held by someone else past the retries runs the fallback path, counted, with a correct outcome', async () => {
    await world.redis.set('lock:shop.version.products', 'someone-else', 'PX', 120000);
    await world.tag('product:42', ['page:product:42']);
    const before = await world.versions();
    const event = productUpdated({ productId: 42 });

    await world.publish([event]);
    await world.waitApplied([event.eventId], 1);

    const after = await world.versions();
    expect(after.products).toBe(before.products + 1);
    expect(after.global).toBe(before.global + 1);
    expect(JSON.parse((await world.redis.get('shop.version.products')) ?? '{}').version).toBe(
      after.products,
    );
    expect(await world.exists('page:product:42')).toBe(false);
    expect(await service.metric('invalidator_lock_fallback_total')).toBe(1);
    const warnings = service.logLines(
      'redis lock unavailable; running the MySQL row-lock fallback',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      data_types: ['global', 'products'],
      event_ids: [event.eventId],
    });
    const [saga] = service.logLines('invalidation saga completed');
    expect(saga).toMatchObject({ path: 'fallback', outcome: 'success' });
    // The other holder's lock was neither stolen nor deleted.
    expect(await world.redis.get('lock:shop.version.products')).toBe('someone-else');
    // The fallback's write carries a fresh fencing token like any other bump.
    const [audit] = (await world.audit()).filter((a) => a.data_type === 'products');
    expect(Number(audit.fence_token)).toBeGreaterThan(0);
  });
});
