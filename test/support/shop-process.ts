import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import entrypoints from '../../scripts/entrypoints.json';
import {
  GiveUpWaiting,
  MYSQL_ROOT_URL,
  TestEnv,
  freePort,
  shopSecurityEnv,
  waitFor,
} from './test-env';

const MAIN = join(__dirname, '..', '..', entrypoints['example-shop']);

/** The built example shop as a child process, on a test world's topics, prefix and a database of its own. */
export class ShopProcess {
  private child?: ChildProcess;
  private output: string[] = [];
  private exited = false;

  private constructor(
    readonly env: TestEnv,
    readonly port: number,
  ) {}

  static async start(env: TestEnv, extra: Record<string, string> = {}): Promise<ShopProcess> {
    const shop = new ShopProcess(env, await freePort());
    await shop.spawn(extra);
    return shop;
  }

  get database(): string {
    return `${this.env.database}_shop`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  logs(): string {
    return this.output.join('');
  }

  async spawn(extra: Record<string, string> = {}): Promise<void> {
    this.exited = false;
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        SHOP_HTTP_PORT: String(this.port),
        SHOP_MYSQL_URL: `${MYSQL_ROOT_URL}/${this.database}`,
        REDIS_URL: this.env.redisUrl,
        REDIS_KEY_PREFIX: this.env.redisPrefix,
        KAFKA_BROKERS: this.env.brokers.join(','),
        KAFKA_TOPIC_PRODUCT: this.env.topics.product,
        KAFKA_TOPIC_CATEGORY: this.env.topics.category,
        ...shopSecurityEnv(),
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.on('exit', () => (this.exited = true));
    await waitFor(`the shop on port ${this.port}`, async () => {
      if (this.exited) throw new GiveUpWaiting(`shop exited: ${this.logs().slice(-2000)}`);
      return (await fetch(`${this.url}/metrics`)).ok;
    });
  }

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}
