import { ServiceProcess } from '../support/service-process';
import { TcpProxy } from '../support/tcp-proxy';
import { drainAndCheck, mixedLoad, publishInBackground, seedTags } from '../support/fault-kit';
import { World } from '../support/world';

jest.setTimeout(300000);

const OUTAGE_MS = 10000;

describe.each([
  ['redis', (world: World) => new URL(world.env.redisUrl)],
  ['mysql', (world: World) => new URL(world.env.mysqlUrl)],
])('%s unreachable for 10 s mid-load', (store, target) => {
  let world: World;
  let proxy: TcpProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create(`${store}out`);
    const url = target(world);
    proxy = await TcpProxy.start(url.hostname, Number(url.port));
    url.port = String(proxy.port);
    service = await ServiceProcess.start(world.env, {
      [store === 'redis' ? 'REDIS_URL' : 'MYSQL_URL']: url.toString(),
      RETRY_MAX_DELAY_MS: '1000',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await world?.close();
  });

  it('stalls without committing or dead-lettering, and drains by itself when the store returns', async () => {
    const events = mixedLoad(2000, store);
    const tags = await seedTags(world, events);
    const publishing = publishInBackground(world, events, 100, 50);
    await new Promise((r) => setTimeout(r, 500));

    proxy.cut();
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    const committedDuring = await world.committedOffsets(world.env.topics.product);
    const appliedDuring = await world.inboxCount();
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    // Nothing moved in the second half of the outage: the pipeline stalled, it did not skip.
    expect(await world.committedOffsets(world.env.topics.product)).toBe(committedDuring);
    expect(await world.inboxCount()).toBe(appliedDuring);
    expect(service.exited()).toBe(false);
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(503);

    proxy.restore();
    await drainAndCheck(world, {
      case: `${store}-outage`,
      events,
      tags,
      faults: `${store} cut off for ${OUTAGE_MS} ms`,
      faultEnded: Date.now(),
      publishing,
    });
  });
});
