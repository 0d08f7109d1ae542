import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import entrypoints from '../../scripts/entrypoints.json';
import { GiveUpWaiting, TestEnv, freePort, serviceEnv, waitFor } from './test-env';

const MAIN = join(__dirname, '..', '..', entrypoints.invalidator);

/** The built service, run as a real child process against the real stack. */
export class ServiceProcess {
  private child?: ChildProcess;
  private output: string[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  private constructor(
    readonly env: TestEnv,
    readonly port: number,
    private readonly extra: Record<string, string>,
  ) {}

  static async start(env: TestEnv, extra: Record<string, string> = {}): Promise<ServiceProcess> {
    const service = new ServiceProcess(env, await freePort(), extra);
    await service.spawn();
    return service;
  }

  /**
   * Runs the service expecting it to stop at start-up (a bad setting, a store refusing it);
   * fails if it becomes ready instead.
   */
  static async startExpectingExit(
    env: TestEnv,
    extra: Record<string, string> = {},
    timeoutMs = 60000,
  ): Promise<{ code: number | null; output: string }> {
    const service = new ServiceProcess(env, await freePort(), extra);
    const ready = service.spawn().then(
      () => true,
      () => false,
    );
    const exited = await waitFor(
      `the service to exit at start-up`,
      async () =>
        service.exited() || ((await Promise.race([ready, Promise.resolve(false)])) && 'ready'),
      timeoutMs,
    );
    if (exited === 'ready') {
      await service.stop();
      throw new Error(`the service started instead of refusing: ${service.logs().slice(-2000)}`);
    }
    return { code: service.exitCode, output: service.logs() };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  logs(): string {
    return this.output.join('');
  }

  /** The last warnings and errors it logged (pino level 40 and up), for a failing wait's message. */
  warnings(limit = 20): string {
    const lines = this.logs()
      .split('\n')
      .filter((line) => /^\{"level":(4|5|6)\d/.test(line));
    return lines.slice(-limit).join('\n') || '(none)';
  }

  /** Parsed JSON log lines whose msg matches. */
  logLines(msg: string): Record<string, unknown>[] {
    return this.logs()
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes(msg))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === msg);
  }

  async spawn(): Promise<void> {
    this.exitCode = null;
    this.exitSignal = null;
    // SERVICE_NODE_ARGS: flags for the service's node, e.g. `--cpu-prof` when profiling the bench.
    const nodeArgs = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, MAIN], {
      env: { PATH: process.env.PATH, ...serviceEnv(this.env, this.port, this.extra) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
    });
    await this.waitReady();
  }

  async waitReady(timeoutMs = 60000): Promise<void> {
    await waitFor(
      `service on port ${this.port} to be ready`,
      async () => {
        if (this.exited()) throw new GiveUpWaiting(`service exited: ${this.logs().slice(-2000)}`);
        const res = await fetch(`${this.url}/health/ready`);
        return res.status === 200;
      },
      timeoutMs,
    );
  }

  exited(): boolean {
    return this.exitCode !== null || this.exitSignal !== null;
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const match = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
      if (!match || match[1] !== name) continue;
      const labelText = match[2] ?? '';
      if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
        total += Number(match[3]);
      }
    }
    return total;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30000): Promise<void> {
    const child = this.child;
    if (!child || this.exited()) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }
}
