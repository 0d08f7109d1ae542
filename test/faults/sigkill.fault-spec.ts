import { ServiceProcess } from '../support/service-process';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { World } from '../support/world';

jest.setTimeout(300000);

describe('SIGKILL mid-load', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('kill');
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('the service killed three times mid-load loses nothing and bumps nothing twice', async () => {
    const events = mixedLoad(3000);
    const tags = await seedTags(world, events);
    service = await ServiceProcess.start(world.env);
    // About 12 s of load: each kill and restart lands while events are still arriving.
    const publishing = publishInBackground(world, events, 50, 200);
    for (let kill = 0; kill < 3; kill++) {
      await new Promise((r) => setTimeout(r, 800));
      await service.kill();
      service = await ServiceProcess.start(world.env);
    }
    await drainAndCheck(world, {
      case: 'sigkill',
      events: events,
      tags,
      faults: '3 x SIGKILL + restart',
      faultEnded: Date.now(),
      publishing,
    });
  });
});
