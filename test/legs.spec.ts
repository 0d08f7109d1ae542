import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ignoredOn, Leg, legOf, LEGS, legsOf, Project, SPECS } from './legs';

const ROOT = join(__dirname, '..');
const projectOf = (spec: string): Project | undefined =>
  spec.endsWith('.e2e-spec.ts') ? 'e2e' : spec.endsWith('.fault-spec.ts') ? 'faults' : undefined;
const specs = readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
  .map((file) => `test/${file}`)
  .filter((file) => projectOf(file));

describe('the legs of .ci/run (test/legs.ts)', () => {
  // A renamed or removed spec must not leave an entry behind that no longer selects anything.
  it.each(Object.keys(SPECS))('%s exists', (entry) => {
    expect(existsSync(join(ROOT, entry))).toBe(true);
    if (entry.endsWith('/')) expect(statSync(join(ROOT, entry)).isDirectory()).toBe(true);
    else expect(projectOf(entry)).toBeDefined();
  });

  it.each(Object.entries(SPECS))('%s runs on a leg that runs its project', (entry, legs) => {
    const project = projectOf(entry) ?? projectOf(specs.find((s) => s.startsWith(entry)) ?? '');
    expect(legs.filter((leg) => LEGS[leg].includes(project as Project))).toEqual(legs);
    expect(legs.length).toBeGreaterThan(0);
  });

  it.each(Object.keys(LEGS) as Leg[])('the %s leg ignores exactly the specs not on it', (leg) => {
    const patterns = ignoredOn(leg).map((p) => new RegExp(p.replace('<rootDir>', ROOT)));
    for (const spec of specs) {
      const ignored = patterns.some((pattern) => pattern.test(join(ROOT, spec)));
      expect([spec, ignored]).toEqual([spec, !legsOf(spec).includes(leg)]);
    }
  });

  it('a spec not listed runs on every leg but those of their own specs only (cdc)', () => {
    expect(legsOf('test/saga.e2e-spec.ts')).toEqual(['default', 'node24', 'cluster', 'secure']);
    expect(legsOf('test/faults/sigkill.fault-spec.ts')).toEqual(['default']);
  });

  it('the leg is TEST_LEG, else that of the stack the settings point at', () => {
    expect(legOf({})).toBe('default');
    expect(legOf({ TEST_LEG: 'node24', TEST_SECURE: '1' })).toBe('node24');
    expect(legOf({ TEST_SECURE: '1' })).toBe('secure');
    expect(legOf({ TEST_REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toBe('cluster');
    expect(() => legOf({ TEST_LEG: 'nodes24' })).toThrow('TEST_LEG=nodes24 is not a leg');
  });
});
