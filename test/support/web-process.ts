import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { ClientStats } from '@invalidator/client';
import { TestEnv } from './test-env';

const CHILD = join(__dirname, 'web-process-child.ts');

export type WebRequest =
  | { op: 'read'; key: string; revision: number }
  | { op: 'heard'; above: number }
  | { op: 'state' }
  | { op: 'close' };

export type WebCommand = { id: number } & WebRequest;

export interface WebState {
  stats: ClientStats;
  tier: { entries: number; bytes: number; listening: boolean } | null;
}

export type WebReply = { id: number } & (
  (WebState & { value?: unknown; announced?: number }) | { error: string }
);

/**
 * A web server with libs/client's in-process tier as a real child process (not a second client
 * in the test's process): its memory, its connections, its subscriber are its own.
 */
export class WebProcess {
  private next = 1;
  private readonly waiting = new Map<number, (reply: WebReply) => void>();
  private output = '';

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (reply: WebReply) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  /** `name`: its connections' name (CLIENT LIST); `reconnectMs`: ioredis's retry delay. */
  static async start(env: TestEnv, name: string, reconnectMs: number): Promise<WebProcess> {
    const child = fork(CHILD, [], {
      execArgv: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
      env: {
        ...process.env,
        WEB_KEY_PREFIX: env.redisPrefix,
        WEB_CONNECTION_NAME: name,
        WEB_RECONNECT_MS: String(reconnectMs),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const web = new WebProcess(name, child);
    await new Promise<void>((resolve, reject) => {
      web.waiting.set(0, () => resolve());
      child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${web.output}`)));
    });
    return web;
  }

  read(key: string, revision: number) {
    return this.ask({ op: 'read', key, revision });
  }

  /** Answers once the process has heard an announcement of products above `above`. */
  heard(above: number) {
    return this.ask({ op: 'heard', above });
  }

  state() {
    return this.ask({ op: 'state' });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.ask({ op: 'close' }).catch(() => undefined);
    this.child.kill();
    await exited;
  }

  private ask(command: WebRequest): Promise<WebState & { value?: unknown; announced?: number }> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) =>
        'error' in reply ? reject(new Error(reply.error)) : resolve(reply),
      );
      this.child.send({ ...command, id });
    });
  }
}
