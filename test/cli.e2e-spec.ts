import { userInfo } from 'node:os';
import { runCli } from './support/cli-process';
import { World } from './support/world';

jest.setTimeout(240000);

describe('operator CLI', () => {
  let world: World;
  const cli = (...args: string[]) => runCli(world.env, args);

  beforeAll(async () => {
    world = await World.create('cli', 1);
  });

  afterAll(async () => {
    await world?.close();
  });

  it('validate-atomic passes on a coherent store and prints the table', async () => {
    const run = await cli('validate-atomic');
    expect({ code: run.code, out: run.stdout + run.stderr }).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/^check\s+result\s+figures\s+time/);
    for (const check of ['atomic update', 'coherence', 'invalidation']) {
      expect(run.stdout).toMatch(new RegExp(`${check}\\s+PASS`));
    }
    expect(run.stdout).toContain(
      '10 concurrent bumps: version 10, 10 audit rows, 10 distinct hashes',
    );
    expect(run.stdout).toContain('all checks passed');
    // Throwaway types leave nothing behind.
    expect(
      await world.query("SELECT * FROM shop_data_versions WHERE data_type LIKE 'validate:%'"),
    ).toEqual([]);
    expect(
      await world.query("SELECT * FROM version_audit WHERE data_type LIKE 'validate:%'"),
    ).toEqual([]);
    expect(await world.redisKeys('shop.version.validate:*')).toEqual([]);
    expect(await world.redisKeys('shop.tag.validate:*')).toEqual([]);
  });

  it('bump <types> runs the saga and audits the operator as cli:<user>', async () => {
    const before = await world.versions();
    const run = await cli('bump', 'products', 'categories');
    expect({ code: run.code, out: run.stdout + run.stderr }).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/^categories\t\d+\t[0-9a-f]{64}$/m);
    const after = await world.versions();
    expect(after).toEqual({
      products: before.products + 1,
      categories: before.categories + 1,
      global: before.global + 1,
    });
    const audit = await world.audit();
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set([`cli:${userInfo().username}`]));
    expect(JSON.parse((await world.redis.get('shop.version.categories')) ?? '{}').version).toBe(
      after.categories,
    );
  });

  it('--json prints a machine-readable report', async () => {
    const run = await cli('validate-atomic', '--json');
    expect({ code: run.code, out: run.stdout + run.stderr }).toMatchObject({ code: 0 });
    const report = JSON.parse(run.stdout) as {
      pass: boolean;
      checks: { check: string; pass: boolean; ms: number }[];
    };
    expect(report.pass).toBe(true);
    expect(report.checks.map((c) => c.check)).toEqual([
      'atomic update',
      'coherence',
      'invalidation',
    ]);
  });

  it('a store corrupted behind the service’s back is reported (exit 1), mended by --repair, then passes', async () => {
    await cli('bump', 'products');
    const [older] = await world.query<{ new_hash: string }>(
      "SELECT new_hash FROM version_audit WHERE data_type = 'products' ORDER BY new_version LIMIT 1",
    );
    // A duplicated hash: the current row carries the hash of an older version.
    await world.sql.query("UPDATE shop_data_versions SET hash = ? WHERE data_type = 'products'", [
      older.new_hash,
    ]);
    // A Redis version key out of step.
    await world.redis.set(
      'shop.version.categories',
      JSON.stringify({ version: 999, hash: 'x', updatedAt: 'then' }),
    );
    // A lock without TTL.
    await world.redis.set('lock:shop.version.global', 'crashed-holder');

    const broken = await cli('validate-atomic');
    expect({ code: broken.code, out: broken.stdout + broken.stderr }).toMatchObject({ code: 1 });
    expect(broken.stdout).toMatch(/coherence\s+FAIL/);
    expect(broken.stdout).toContain('1 duplicated/foreign hashes');
    expect(broken.stdout).toMatch(/[12] redis keys out of step/);
    expect(broken.stdout).toContain('1 stuck locks');
    expect(broken.stdout).toContain('some checks FAILED');

    const repaired = await cli('validate-atomic', '--repair');
    expect(repaired.stderr).toMatch(/restored the hash of products v\d+ from the audit/);
    expect(repaired.stderr).toContain('republished shop.version.categories from MySQL');
    expect(repaired.stderr).toContain('removed stuck lock lock:shop.version.global (no_ttl)');
    expect({ code: repaired.code, out: repaired.stdout + repaired.stderr }).toMatchObject({
      code: 0,
    });

    const after = await cli('validate-atomic');
    expect({ code: after.code, out: after.stdout + after.stderr }).toMatchObject({ code: 0 });
    expect(JSON.parse((await world.redis.get('shop.version.categories')) ?? '{}').version).toBe(
      (await world.versions()).categories,
    );
  });

  it('--stress-test=200 completes with no lost bump', async () => {
    const run = await cli('validate-atomic', '--stress-test=200');
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: expect.any(String) });
    expect(run.stdout).toMatch(/concurrency\s+PASS\s+200 sagas: version 200 \(0 lost\)/);
    expect(run.stdout).toMatch(/lock wait p50\/p95\/p99 \d+\/\d+\/\d+ ms/);
    expect(run.stderr).not.toMatch(/\r|\[#/); // no progress bar when piped
  });

  it('--clear-cache purges every tag set and republishes the version keys', async () => {
    await world.tag('product:1', ['page:1']);
    await world.redis.del('shop.version.products');
    const run = await cli('validate-atomic', '--clear-cache');
    expect({ code: run.code, out: run.stdout + run.stderr }).toMatchObject({ code: 0 });
    expect(run.stderr).toMatch(/cleared \d+ tag sets \(\d+ keys\)/);
    expect(await world.exists('page:1')).toBe(false);
    expect(JSON.parse((await world.redis.get('shop.version.products')) ?? '{}').version).toBe(
      (await world.versions()).products,
    );
  });

  it.each([
    [['validate-atomic', '--bogus'], /unknown option/],
    [['validate-atomic', '--stress-test=abc'], /--stress-test takes a whole number/],
    [['bump', 'Bad Type'], /bad data type/],
    [['bump'], /missing required argument/],
    [['frobnicate'], /unknown command/],
  ])('usage error %j exits 2', async (args, message) => {
    const run = await cli(...args);
    expect({ code: run.code, out: run.stdout + run.stderr }).toMatchObject({ code: 2 });
    expect(run.stderr).toMatch(message);
  });

  it('a bad configuration value exits 2 naming the variable', async () => {
    const run = await runCli(world.env, ['validate-atomic'], { LOCK_TTL_MS: 'soon' });
    expect({ code: run.code, out: run.stdout + run.stderr }).toMatchObject({ code: 2 });
    expect(run.stderr).toContain('LOCK_TTL_MS');
  });
});
