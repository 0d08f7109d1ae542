import { spawn } from 'node:child_process';
import { join } from 'node:path';
import entrypoints from '../../scripts/entrypoints.json';
import { TestEnv, serviceEnv } from './test-env';

const MAIN = join(__dirname, '..', '..', entrypoints.cli);

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built operator CLI as a child process, piped (so no progress bar). */
export function runCli(
  env: TestEnv,
  args: string[],
  extra: Record<string, string> = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH, ...serviceEnv(env, 0, extra), LOG_LEVEL: 'warn', ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
