import { ServiceProcess } from '../support/service-process';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { World } from '../support/world';

jest.setTimeout(300000);

describe('rebalances mid-load (1 -> 3 -> 1 instances over 12 partitions)', () => {
  let world: World;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    world = await World.create('rebalance', 12);
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await world?.close();
  });

  it('instances joining, one SIGKILLed and others leaving while events flow lose nothing and apply nothing twice', async () => {
    const events = mixedLoad(3000, 'rb');
    const tags = await seedTags(world, events);
    services.push(await ServiceProcess.start(world.env));
    // About 12 s of load, so every change of membership lands while events arrive.
    const publishing = publishInBackground(world, events, 50, 200);
    await new Promise((r) => setTimeout(r, 1500));
    services.push(
      ...(await Promise.all([ServiceProcess.start(world.env), ServiceProcess.start(world.env)])),
    );
    await new Promise((r) => setTimeout(r, 2000));
    // One member dies without leaving the group: its partitions move after the session timeout.
    await services[1].kill();
    await new Promise((r) => setTimeout(r, 1500));
    // One leaves cleanly: down to one instance, which ends up with all 12 partitions.
    await services[2].stop();
    const faultEnded = Date.now();

    await drainAndCheck(world, {
      case: 'rebalance',
      events,
      tags,
      faults: '1 -> 3 instances, SIGKILL of one, SIGTERM of another -> 1',
      faultEnded,
      publishing,
    });
  });
});
