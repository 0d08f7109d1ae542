import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { World } from './support/world';

describe('stuck-lock sweep', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('sweep', 1);
    service = await ServiceProcess.start(world.env, {
      LOCK_TTL_MS: '5000',
      LOCK_SWEEP_INTERVAL_MS: '200',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a live lock taken with a longer LOCK_TTL_MS (a rolling TTL change) is never swept; a key past any TTL is', async () => {
    // Another instance already runs with LOCK_TTL_MS=20000 and holds the products lock.
    await world.redis.set('lock:shop.version.products', 'holder-with-20s-ttl', 'PX', 20000);
    // Nobody may ask for an hour: that key is left behind by a foreign writer.
    await world.redis.set('lock:shop.version.categories', 'left-behind', 'PX', 3600000);

    await waitFor('the sweep', async () => !(await world.exists('lock:shop.version.categories')));
    // Several sweeps later the live lock is still its holder's.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await world.redis.get('lock:shop.version.products')).toBe('holder-with-20s-ttl');
    expect(await service.metric('invalidator_alerts_total', { kind: 'stuck_lock' })).toBe(1);
  });
});
