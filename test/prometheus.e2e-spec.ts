import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { productUpdated } from './support/events';
import { World } from './support/world';

const prometheusDir = join(__dirname, '..', 'docker', 'prometheus');

function promtool(args: string[], input?: string) {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8', cwd: prometheusDir });
  if (result.error)
    throw new Error(
      `promtool is not installed (run scripts/install-promtool.sh): ${result.error.message}`,
    );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('Prometheus exposition, rules and dashboard', () => {
  let world: World;
  let service: ServiceProcess;
  let exposition: string;

  beforeAll(async () => {
    world = await World.create('prom');
    service = await ServiceProcess.start(world.env);
    const events = [productUpdated({ productId: 1 }), productUpdated({ productId: 2 })];
    await world.publish([...events, { key: 'x', value: 'not json' }]);
    await waitFor(
      'the events applied',
      async () => (await world.inboxCount(events.map((e) => e.eventId))) === 2,
    );
    await waitFor(
      'the bad one dead-lettered',
      async () => (await service.metric('invalidator_dead_letters_total')) === 1,
    );
    exposition = await (await fetch(`${service.url}/metrics`)).text();
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('/metrics passes promtool check metrics with no lint finding', () => {
    const { status, output } = promtool(['check', 'metrics'], exposition);
    expect(output.trim()).toBe('');
    expect(status).toBe(0);
  });

  it('the alerting rules pass promtool check rules and their unit tests', () => {
    const check = promtool(['check', 'rules', 'rules.yml']);
    expect(check.output).toContain('SUCCESS: 8 rules found');
    expect(check.status).toBe(0);
    const tests = promtool(['test', 'rules', 'rules.test.yml']);
    expect(tests.output).toContain('SUCCESS');
    expect(tests.status).toBe(0);
    const config = promtool(['check', 'config', 'prometheus.yml']);
    expect(config.status).toBe(0);
  });

  it('every metric the rules and the dashboard use is one the service exposes', () => {
    const exposed = new Set([...exposition.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    const sources = [
      readFileSync(join(prometheusDir, 'rules.yml'), 'utf8'),
      readFileSync(
        join(__dirname, '..', 'docker', 'grafana', 'dashboards', 'invalidator.json'),
        'utf8',
      ),
    ].join('\n');
    const used = new Set(
      [...sources.matchAll(/\binvalidator_[a-z_]+/g)].map((m) =>
        m[0].replace(/_(bucket|count|sum)$/, ''),
      ),
    );
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
  });
});
