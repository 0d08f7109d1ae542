import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceProcess } from '../support/service-process';
import {
  expectOracle,
  mixedLoad,
  reportFigures,
  seedTags,
  waitDrained,
} from '../support/fault-kit';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

jest.setTimeout(300000);

const root = join(__dirname, '..', '..');
// The broker alone: a Redis Cluster the run started (the cluster leg comes later) stays up.
const stack = (command: 'kafka-up' | 'kafka-down') =>
  execFileSync('bash', [join(root, 'scripts', 'stack.sh'), command], { stdio: 'ignore' });

function brokerPid(): number {
  return Number(readFileSync(join(root, '.stack', 'kafka', 'kafka.pid'), 'utf8'));
}

describe('the broker restarted mid-load', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('broker');
  });

  afterAll(async () => {
    stack('kafka-up'); // never leave the suite without a broker
    await service?.stop();
    await world?.close();
  });

  it('the consumer reconnects by itself and the backlog drains with nothing lost', async () => {
    // Only a broker this project started can be restarted by it.
    expect(brokerPid()).toBeGreaterThan(0);
    const first = mixedLoad(1500, 'b1');
    const second = mixedLoad(1500, 'b2');
    const tags = await seedTags(world, [...first, ...second]);
    service = await ServiceProcess.start(world.env);
    await world.publish(first);
    await waitFor('consumption under way', async () => (await world.inboxCount()) > 0);

    const restarted = Date.now();
    stack('kafka-down');
    stack('kafka-up');
    const downMs = Date.now() - restarted;
    await world.publish(second);
    const faultEnded = Date.now();
    const ids = [...first, ...second].map((e) => e.eventId);
    await waitDrained(world, ids);
    const drainMs = Date.now() - faultEnded;
    expect(service.exited()).toBe(false);

    await expectOracle(world, ids, 0, tags);
    reportFigures({
      case: 'broker-restart',
      events: ids.length,
      bad: 0,
      faults: `broker stopped and restarted (${downMs} ms)`,
      drainMs,
      dlq: 0,
    });
  });
});
