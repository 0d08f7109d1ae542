import { ServiceProcess } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { World } from './support/world';

describe('a store unreachable at start-up', () => {
  let world: World;
  let proxy: TcpProxy;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    world = await World.create('startout', 1);
  });

  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await world?.close();
  });

  it('(a proxy resetting every connection) delays start-up; it is not taken for a refusal', async () => {
    const url = new URL(world.env.redisUrl);
    proxy = await TcpProxy.start(url.hostname, Number(url.port));
    url.port = String(proxy.port);
    proxy.cut();
    const restoredAt = Date.now() + 6000;
    const restore = setTimeout(() => proxy.restore(), 6000);
    try {
      service = await ServiceProcess.start(world.env, { REDIS_URL: url.toString() });
    } finally {
      clearTimeout(restore);
    }
    expect(Date.now()).toBeGreaterThanOrEqual(restoredAt);
    expect(service.exited()).toBe(false);
    expect(service.logs()).not.toContain('refused the connection');
  });
});
