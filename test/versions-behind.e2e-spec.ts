import { randomUUID } from 'node:crypto';
import { VersionPublisher } from '@invalidator/cache';
import { VersionRepository, globalVersionString } from '@invalidator/versioning';
import { runCli } from './support/cli-process';
import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { migratedDataSource } from './support/versioning-db';
import { World } from './support/world';

jest.setTimeout(180000);

/** MySQL going back (a restored backup, a failover to a lagging replica) while Redis kept the newer versions. */
describe('versions behind in MySQL', () => {
  let world: World;
  let service: ServiceProcess | undefined;

  const published = async (dataType: string, w = world): Promise<number> =>
    Number(JSON.parse((await w.redis.get(`shop.version.${dataType}`)) ?? '{"version":-1}').version);
  const publishedGlobal = async (w = world): Promise<number> =>
    Number(((await w.redis.get('inertia.data.version')) ?? '-1.').split('.')[0]);
  const incidents = () =>
    world.query<{ kind: string; severity: string; details: string }>(
      "SELECT kind, severity, details FROM incidents WHERE kind = 'versions_behind' ORDER BY id",
    );

  const restoreOlderBackup = async (w = world) => {
    await w.query('UPDATE shop_data_versions SET version = version - 5 WHERE version >= 5');
    // The backup holds the audit of its own time.
    await w.query(
      `DELETE a FROM version_audit a JOIN shop_data_versions v ON v.data_type = a.data_type
        WHERE a.new_version > v.version`,
    );
  };

  beforeAll(async () => {
    world = await World.create('behind', 1);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('a restart after MySQL went back moves the versions clients read forward, past what Redis held', async () => {
    service = await ServiceProcess.start(world.env);
    // One at a time: each its own saga, so each bumps.
    const first = Array.from({ length: 8 }, (_, i) => productUpdated({ productId: `b${i}` }));
    for (const [i, event] of first.entries()) {
      await world.publish([event]);
      await world.waitApplied([event.eventId], i + 1);
    }
    await waitFor('the versions published', async () => (await published('products')) >= 8);
    const before = { products: await published('products'), global: await published('global') };
    await service.stop();

    await restoreOlderBackup();
    service = await ServiceProcess.start(world.env);
    const next = productUpdated({ productId: 'after-restore' });
    await world.publish([next]);
    await world.waitApplied([next.eventId], first.length + 1);

    await waitFor(
      'Redis to move past the versions it held',
      async () =>
        (await published('products')) > before.products &&
        (await published('global')) > before.global,
      20000,
    );
    expect(await publishedGlobal()).toBeGreaterThan(before.global);
    // MySQL is the source again: what it holds is what clients read, and above all they saw.
    const mysql = await world.versions();
    expect(mysql.products).toBe(await published('products'));
    expect(mysql.global).toBe(await published('global'));
    const [incident] = await incidents();
    expect(incident).toMatchObject({ kind: 'versions_behind', severity: 'CRITICAL' });
    await service.stop();
    service = undefined;
  });

  it('validate-atomic --repair with Redis ahead moves MySQL forward, never Redis back', async () => {
    // A history of its own (audit 1..8 for products and global), published as a service would.
    const repair = await World.create('behind_cli', 1);
    const dataSource = await migratedDataSource(repair.env.mysqlUrl);
    try {
      const repository = new VersionRepository(dataSource);
      for (let token = 1n; token <= 8n; token++)
        await repository.bumpVersions({
          events: [
            {
              eventId: randomUUID(),
              topic: 'manual-bump',
              partition: -1,
              offset: '0',
              dataTypes: ['products', 'global'],
            },
          ],
          fenceToken: token,
          actor: 'test',
          lockWaitTimeoutMs: 2000,
        });
      const rows = await repository.readAll();
      await new VersionPublisher(repair.redis).publish(rows, globalVersionString(rows));
      const before = {
        products: await published('products', repair),
        global: await published('global', repair),
      };
      await restoreOlderBackup(repair);

      const run = await runCli(repair.env, ['validate-atomic', '--repair']);

      expect({ code: run.code, out: run.stdout + run.stderr }).toMatchObject({ code: 0 });
      expect(await published('products', repair)).toBeGreaterThan(before.products);
      expect(await published('global', repair)).toBeGreaterThan(before.global);
      expect(await publishedGlobal(repair)).toBeGreaterThan(before.global);
      const mysql = await repair.versions();
      expect(mysql.products).toBe(await published('products', repair));
      expect(mysql.global).toBe(await published('global', repair));
      expect(run.stderr).toContain(
        'moved products past v8, the highest seen (MySQL had v3): now v9',
      );
      expect(run.stdout).toContain('all checks passed');
    } finally {
      await dataSource.destroy();
      await repair.close();
    }
  });
});
