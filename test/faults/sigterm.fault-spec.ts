import { ServiceProcess } from '../support/service-process';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { World } from '../support/world';

jest.setTimeout(300000);

describe('SIGTERM under load', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('term');
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('exits 0 within the shutdown bound, and the oracle holds after a restart', async () => {
    const bound = 10000;
    const events = mixedLoad(2000);
    const tags = await seedTags(world, events);
    service = await ServiceProcess.start(world.env, { SHUTDOWN_TIMEOUT_MS: String(bound) });
    const publishing = publishInBackground(world, events, 50, 100);
    await new Promise((r) => setTimeout(r, 1500));

    const started = Date.now();
    await service.stop('SIGTERM', bound + 5000);
    const took = Date.now() - started;
    expect(service.exitCode).toBe(0);
    expect(took).toBeLessThan(bound);
    expect(service.logs()).toContain('shut down cleanly');

    service = await ServiceProcess.start(world.env);
    await drainAndCheck(world, {
      case: 'sigterm',
      events,
      tags,
      faults: `SIGTERM (exit 0 in ${took} ms) + restart`,
      faultEnded: Date.now(),
      publishing,
    });
  });
});
