import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { waitFor } from './test-env';

/** Whether a port (and so a node's bus port, 10000 above) can be listened on now. */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A Redis Cluster of the test's own (3 masters, 3 replicas, the machine's redis-server, nothing
 * on disk but each node's cluster config), so that a master can be killed and failed over
 * without touching the stack's shared cluster on 7000-7005. The settings are those of
 * scripts/stack.sh's cluster (node timeout 2 s).
 */
export class PrivateCluster {
  private readonly children = new Map<number, ChildProcess>();

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  /** `host:port,…` of every node, as REDIS_CLUSTER_NODES wants them. */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  static async start(): Promise<PrivateCluster> {
    const ports: number[] = [];
    for (let port = 21000 + Math.floor(Math.random() * 20000); ports.length < 6; port++) {
      if ((await free(port)) && (await free(port + 10000))) ports.push(port);
    }
    const cluster = new PrivateCluster(ports, mkdtempSync(join(tmpdir(), 'soak-cluster-')));
    for (const port of ports) cluster.spawnNode(port);
    await waitFor('the private cluster nodes', async () =>
      ports.every((p) => cluster.cli(p, 'ping').trim() === 'PONG'),
    );
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('the private cluster ok', async () => cluster.ok(ports[0]), 60000, 250);
    return cluster;
  }

  private spawnNode(port: number): void {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    this.children.set(port, child);
  }

  private cli(port: number, ...args: string[]): string {
    try {
      return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
    } catch {
      return '';
    }
  }

  private ok(port: number): boolean {
    return /cluster_state:ok/.test(this.cli(port, 'cluster', 'info'));
  }

  /** The port of the live master serving the slot of `key` (as seen from `from`). */
  private masterOf(key: string, from: number): number | undefined {
    const slot = calculateSlot(key);
    for (const line of this.cli(from, 'cluster', 'nodes').trim().split('\n')) {
      const [, address, flags, , , , , state, ...slots] = line.split(' ');
      if (!flags?.includes('master') || flags.includes('fail') || state !== 'connected') continue;
      const owns = slots
        .filter((s) => !s.startsWith('['))
        .some((s) => {
          const [a, b] = s.split('-').map(Number);
          return slot >= a && slot <= (b ?? a);
        });
      if (owns) return Number(address.split('@')[0].split(':')[1]);
    }
    return undefined;
  }

  /**
   * A master failover as test/faults/redis-cluster.fault-spec.ts does it: the master of `key`'s
   * slot SIGKILLed, its replica promoted (the cluster ok again), then the old master started
   * again, rejoining as a replica. Returns the killed master's port.
   */
  async failover(key: string): Promise<number> {
    const victim = this.masterOf(key, this.ports[0]) ?? this.masterOf(key, this.ports[1])!;
    const child = this.children.get(victim)!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const survivor = this.ports.find((p) => p !== victim)!;
    await waitFor(
      'the replica promoted',
      async () => {
        const owner = this.masterOf(key, survivor);
        return owner !== undefined && owner !== victim && this.ok(survivor);
      },
      60000,
      250,
    );
    this.spawnNode(victim);
    await waitFor('the old master back as a replica', async () => this.ok(victim), 60000, 250);
    return victim;
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.children.values()].map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
