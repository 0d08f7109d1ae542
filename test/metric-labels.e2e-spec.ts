import { ServiceProcess } from './support/service-process';
import { productUpdated } from './support/events';
import { World } from './support/world';

describe('metric label sets', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('labels', 1);
    service = await ServiceProcess.start(world.env);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it("invalidator_data_version never keeps a label for a validation run's throwaway type", async () => {
    // A validate-atomic run in progress: its throwaway type sits in MySQL beside the real ones.
    await world.query(
      `INSERT INTO shop_data_versions (data_type, version, hash, fence_token, updated_at)
       VALUES ('validate:0a1b2c3d:atomic', 3, SHA2('validate:0a1b2c3d:atomic:3', 256), 0, NOW(6))`,
    );
    const event = productUpdated({ productId: 7 });
    await world.publish([event]);
    await world.waitApplied([event.eventId], 1);

    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(await service.metric('invalidator_data_version', { type: 'products' })).toBe(1);
    expect(text).not.toContain('validate:');
  });
});
