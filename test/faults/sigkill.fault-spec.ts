import { ServiceProcess } from '../support/service-process';
import {
  expectOracle,
  mixedLoad,
  publishInBackground,
  reportFigures,
  seedTags,
  waitDrained,
} from '../support/fault-kit';
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
    const faultEnded = Date.now();
    await publishing;
    const ids = events.map((e) => e.eventId);
    await waitDrained(world, ids);
    const drainMs = Date.now() - faultEnded;

    await expectOracle(world, ids, 0, tags);
    reportFigures({
      case: 'sigkill',
      events: events.length,
      bad: 0,
      faults: '3 x SIGKILL + restart',
      drainMs,
      dlq: 0,
    });
  });
});
