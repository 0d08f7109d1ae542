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

  it('npm pack gives a tarball that a scratch project installs and whose example runs against the stack', async () => {
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
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        join(scratch, filename),
        pinned('ioredis'),
        pinned('prom-client'),
      ],
      { cwd: project },
    );
    expect(await readdir(join(project, 'node_modules/@invalidator/client/dist'))).toContain(
      'index.js',
    );

    const { stdout } = await run(
      process.execPath,
      ['node_modules/@invalidator/client/example/example.js'],
      {
        cwd: project,
        // On the secured stack: TLS and the web tier's Redis user, as a web server connects.
        env: { PATH: process.env.PATH, REDIS_URL, REDIS_KEY_PREFIX: prefix, ...webRedisEnv() },
      },
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
