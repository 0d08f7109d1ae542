import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');

/**
 * Lints a snippet as if it were the given file, with the repository's own config. ESLint runs in
 * a child process: its flat config is an ES module, which jest's VM cannot import.
 */
async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const script = `
    const { ESLint } = require('eslint');
    new ESLint({ cwd: process.argv[1] })
      .lintText(process.argv[2], { filePath: process.argv[3] })
      .then(([r]) => process.stdout.write(JSON.stringify(r.messages)));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-e', script, ROOT, code, join(ROOT, filePath)],
    { cwd: ROOT },
  );
  return (JSON.parse(stdout) as { ruleId: string | null; message: string }[])
    .filter((m) => m.ruleId === 'no-restricted-imports')
    .map((m) => m.message);
}

describe('app boundaries (eslint.config.mjs)', () => {
  it('an app deep-importing another app fails lint', async () => {
    const messages = await restrictedImports(
      'apps/cli/src/checks/fixture.ts',
      "import { KafkaModule } from '../../../invalidator/src/kafka/kafka.module';\nexport { KafkaModule };\n",
    );
    expect(messages).toEqual([expect.stringContaining('must not import another app')]);
  }, 30000);

  it('an import through an apps/ path fails lint, both ways', async () => {
    const messages = await restrictedImports(
      'apps/invalidator/src/fixture.ts',
      "import { CliModule } from '../../cli/src/cli.module';\nimport { x } from 'apps/cli/src/main';\nexport { CliModule, x };\n",
    );
    expect(messages).toHaveLength(2);
  }, 30000);

  it('an app importing a lib through its index passes', async () => {
    const messages = await restrictedImports(
      'apps/cli/src/fixture.ts',
      "import { ManualBump } from '@invalidator/invalidation';\nexport { ManualBump };\n",
    );
    expect(messages).toEqual([]);
  }, 30000);
});
