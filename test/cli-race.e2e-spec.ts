import { globalVersionString } from '@invalidator/versioning';
import { runCli } from './support/cli-process';
import { mixedLoad, waitDrained } from './support/fault-kit';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { World } from './support/world';

jest.setTimeout(300000);

const TYPES = ['categories', 'global', 'products'];
const RUNS_PER_COMMAND = 4;

/** Reads the version keys as often as it can and records every step backwards. */
function watchVersions(world: World) {
  const highest = new Map<string, number>();
  const backwards: string[] = [];
  let reads = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const values = await world.values([
        ...TYPES.map((t) => `shop.version.${t}`),
        'inertia.data.version',
      ]);
      reads++;
      const seen = values.map((v, i) => {
        if (v === null) return undefined;
        return i < TYPES.length
          ? (JSON.parse(v) as { version: number }).version
          : Number(v.split('.')[0]);
      });
      [...TYPES, 'inertia.data.version'].forEach((key, i) => {
        const now = seen[i];
        if (now === undefined) return;
        const before = highest.get(key) ?? 0;
        if (now < before) backwards.push(`${key}: ${before} -> ${now}`);
        highest.set(key, now);
      });
      await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return { backwards, reads };
    },
  };
}

describe('validate-atomic --repair and --clear-cache against a running service', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('clirace', 3);
    service = await ServiceProcess.start(world.env);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('never move a Redis version backwards while sagas run, and leave Redis equal to MySQL', async () => {
    const published: string[] = [];
    let racing = true;
    // Events flow through the service for the whole race.
    const load = (async () => {
      for (let i = 0; racing; i++) {
        const events = mixedLoad(20, `r${i}-`);
        await world.publish(events);
        published.push(...events.map((e) => e.eventId));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    expect((await runCli(world.env, ['bump', 'brands'])).code).toBe(0);
    const corruptBrands = JSON.stringify({
      version: (await world.versions()).brands,
      hash: 'corrupt',
      updatedAt: new Date().toISOString(),
    });
    const watch = watchVersions(world);

    // One command at a time (a clear-cache would mend the key a repair is meant to find).
    const repairs: string[] = [];
    const clears: string[] = [];
    for (let i = 0; i < RUNS_PER_COMMAND; i++) {
      for (const flag of ['--repair', '--clear-cache']) {
        // A key no event rewrites, made out of step, so that every repair republishes.
        if (flag === '--repair') await world.redis.set('shop.version.brands', corruptBrands);
        const run = await runCli(world.env, ['validate-atomic', flag]);
        // Checks may see Redis a step ahead of MySQL mid-flow (exit 1); usage errors (2) are bugs.
        expect({ flag, code: run.code, err: run.stderr.slice(-500) }).not.toMatchObject({
          code: 2,
        });
        (flag === '--repair' ? repairs : clears).push(run.stderr);
      }
    }
    racing = false;
    await load;
    const { backwards, reads } = await watch.stop();

    await waitDrained(world, published);
    // The inbox row commits before the saga publishes: give the last publish its moment.
    const inStep = async () => {
      const rows = await world.query<{ data_type: string; version: string }>(
        'SELECT data_type, version FROM shop_data_versions',
      );
      const mysql = rows.map((r) => ({ dataType: r.data_type, version: BigInt(r.version) }));
      const redis = await world.values([
        ...mysql.map((r) => `shop.version.${r.dataType}`),
        'inertia.data.version',
      ]);
      return {
        mysql: [...mysql.map((r) => Number(r.version)), globalVersionString(mysql)],
        redis: redis.map((v, i) =>
          i < mysql.length ? (JSON.parse(v ?? '{}') as { version?: number }).version : v,
        ),
      };
    };
    await waitFor('Redis equal to MySQL', async () => {
      const { mysql, redis } = await inStep();
      return JSON.stringify(mysql) === JSON.stringify(redis);
    }).catch(() => undefined);
    const { mysql, redis } = await inStep();
    expect(redis).toEqual(mysql);
    console.log(
      `cli race: ${published.length} events, ${RUNS_PER_COMMAND} repairs (${
        repairs.filter((r) => r.includes('republished')).length
      } republished) and ${clears.length} cache clears, ${reads} version reads, ${backwards.length} steps backwards`,
    );
    expect(clears.every((c) => c.includes('republished'))).toBe(true);
    expect(repairs).toEqual(
      Array(RUNS_PER_COMMAND).fill(expect.stringContaining('republished shop.version.brands')),
    );
    expect(backwards).toEqual([]);
  });
});
