import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { REDIS_SECURITY, REDIS_URL, webRedisEnv } from './support/test-env';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
/** The version this repository is tested with, so the scratch project resolves the same. */
function pinned(name: string): string {
  const manifest = readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8');
  return `${name}@${(JSON.parse(manifest) as { version: string }).version}`;
}

/** A web server without metrics: required and used with ioredis alone (no prom-client). */
const WITHOUT_METRICS = `
const Redis = require('ioredis');
const { CacheClient } = require('@invalidator/client');
(async () => {
  const { readFileSync } = require('node:fs');
  const env = process.env;
  const redis = new Redis(env.REDIS_URL, {
    keyPrefix: env.REDIS_KEY_PREFIX,
    ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}),
    ...(env.REDIS_PASSWORD_FILE ? { password: readFileSync(env.REDIS_PASSWORD_FILE, 'utf8').trim() } : {}),
    ...(env.REDIS_TLS_CA_FILE ? { tls: { ca: readFileSync(env.REDIS_TLS_CA_FILE) } } : {}),
  });
  const cache = await CacheClient.connect({ redis });
  const value = await cache.remember('bare', { ttl: 60 }, async () => 'bare');
  const { hits, misses } = cache.stats();
  console.log(JSON.stringify({ value, hits, misses }));
  await cache.close();
  await redis.quit();
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
`;

/** libs/client as a user gets it: packed, installed into a project of its own, its example run. */
describe('the client package', () => {
  let scratch: string;
  const prefix = `test:client-package:${process.pid}:`;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'invalidator-client-'));
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
    const redis = new Redis(REDIS_URL, REDIS_SECURITY);
    for (const key of await redis.keys(`${prefix}*`)) await redis.del(key);
    await redis.quit();
  });

  it('npm pack gives a tarball that works with ioredis alone, and whose example (with prom-client for metrics) runs against the stack', async () => {
    const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', scratch], {
      cwd: join(ROOT, 'libs/client'),
    });
    const [{ filename, files }] = JSON.parse(packed) as {
      filename: string;
      files: { path: string }[];
    }[];
    const paths = files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'example/example.js']),
    );
    expect(paths.filter((p) => p.startsWith('src/'))).toEqual([]);

    const project = join(scratch, 'shop-web');
    await run('mkdir', ['-p', project]);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'shop-web', version: '1.0.0', private: true }),
    );
    // What a user installs: the package and its one required peer. prom-client is an optional
    // peer (for metrics only), so it is left out until the example, which passes a registry.
    const install = (...specs: string[]) =>
      run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], {
        cwd: project,
      });
    await install(join(scratch, filename), pinned('ioredis'));
    expect(await readdir(join(project, 'node_modules'))).not.toContain('prom-client');
    expect(await readdir(join(project, 'node_modules/@invalidator/client/dist'))).toContain(
      'index.js',
    );
    // On the secured stack: TLS and the web tier's Redis user, as a web server connects.
    const env = { PATH: process.env.PATH, REDIS_URL, REDIS_KEY_PREFIX: prefix, ...webRedisEnv() };
    const { stdout: bare } = await run(process.execPath, ['-e', WITHOUT_METRICS], {
      cwd: project,
      env,
    });
    expect(JSON.parse(bare)).toEqual({ value: 'bare', hits: 0, misses: 1 });

    await install(pinned('prom-client'));
    const { stdout } = await run(
      process.execPath,
      ['node_modules/@invalidator/client/example/example.js'],
      { cwd: project, env },
    );
    const [summary, ...metrics] = stdout.trim().split('\n');
    const report = JSON.parse(summary) as {
      key: string;
      fills: number;
      tagged: boolean;
      stats: { hits: number; misses: number };
    };
    expect(report).toMatchObject({ fills: 1, tagged: true, stats: { hits: 1, misses: 1 } });
    expect(report.key).toMatch(/^products:v\d+:page:123$/);
    expect(metrics.join('\n')).toContain('cache_client_hits_total 1');
  });
});
