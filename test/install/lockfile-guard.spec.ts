import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LockFile, missingOptionalEntries } from './lockfile-guard';

const root = join(__dirname, '..', '..');
const readLock = (): LockFile =>
  JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as LockFile;

describe('package-lock.json', () => {
  it('gives every optional platform package of every locked package an entry of its own', () => {
    const missing = missingOptionalEntries(readLock()).map((m) => `${m.dependent} → ${m.name}`);
    expect(missing).toEqual([]);
  });

  it('names the package when a platform entry is removed (the npm/cli#9846 defect)', () => {
    const lock = readLock();
    const platform = Object.keys(lock.packages).find((path) =>
      path.startsWith('node_modules/@unrs/resolver-binding-'),
    );
    expect(platform).toBeDefined();
    delete lock.packages[platform as string];
    const name = (platform as string).slice('node_modules/'.length);
    expect(missingOptionalEntries(lock)).toEqual([
      { dependent: 'node_modules/unrs-resolver', name },
    ]);
  });

  it('resolves an optional dependency from a nested node_modules or an ancestor', () => {
    const lock: LockFile = {
      lockfileVersion: 3,
      packages: {
        '': { optionalDependencies: { top: '1' } },
        'node_modules/top': { version: '1.0.0', optionalDependencies: { nested: '1', up: '1' } },
        'node_modules/top/node_modules/nested': { version: '1.0.0' },
        'node_modules/up': { version: '1.0.0' },
        'node_modules/a/node_modules/b': { version: '1.0.0', optionalDependencies: { gone: '1' } },
      },
    };
    expect(missingOptionalEntries(lock)).toEqual([
      { dependent: 'node_modules/a/node_modules/b', name: 'gone' },
    ]);
  });
});
