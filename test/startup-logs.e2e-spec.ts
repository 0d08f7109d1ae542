import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { World } from './support/world';

/** Lines at ERROR or above: pino's (level 50, 60) and any a library wrote in its own format. */
function errorLines(logs: string): string[] {
  return logs.split('\n').filter((line) => {
    if (!line.startsWith('{')) return false;
    const level = (JSON.parse(line) as { level?: unknown }).level;
    return typeof level === 'number' ? level >= 50 : level === 'ERROR';
  });
}

describe('start-up logs', () => {
  let world: World;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    world = await World.create('startup_logs', 3);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a service joining its group, probed for readiness meanwhile, logs nothing at ERROR', async () => {
    // A member killed with -9 stays in the group until its session times out (10 s here): the
    // next one waits that long to join, while ServiceProcess probes /health/ready every 200 ms
    // until it answers 200, as the demo does.
    await (await ServiceProcess.start(world.env)).kill();
    service = await ServiceProcess.start(world.env);
    const event = productUpdated({ productId: 'startup-logs' });
    await world.publish([event]);
    await world.waitApplied([event.eventId], 1);
    expect(errorLines(service.logs())).toEqual([]);
    // Every line in the service's one format: kafkajs's own lines go through pino too.
    const lines = service.logs().split('\n').filter(Boolean);
    expect(lines.filter((l) => !/^\{"level":\d+,/.test(l))).toEqual([]);
  });
});
