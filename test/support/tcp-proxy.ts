import { Server, Socket, createConnection, createServer } from 'node:net';

/**
 * How the proxy treats the bytes of its connections: `forward` them, `hold` them (kept in order,
 * delivered on restore), or `blackhole` them (discarded, sockets left open: a silent network
 * drop, the peer sees no reset and no answer).
 */
type Mode = 'forward' | 'hold' | 'blackhole';

/**
 * A TCP proxy the test controls: the service talks to a store through it, and `cut()` makes
 * the store unreachable (open connections reset, new ones refused) without touching the
 * machine's own server.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  private mode: Mode = 'forward';
  private latencyMs = 0;
  private held: { to: Socket; chunk: Buffer }[] = [];
  private readonly taps: ((chunk: Buffer) => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    server.on('connection', (client: Socket) => proxy.accept(client, targetHost, targetPort));
    return proxy;
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.cutOff) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host, port });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      for (const tap of this.taps) tap(chunk);
      this.forward(upstream, chunk);
    });
    upstream.on('data', (chunk: Buffer) => this.forward(client, chunk));
    client.on('end', () => this.mode !== 'blackhole' && upstream.end());
    upstream.on('end', () => this.mode !== 'blackhole' && client.end());
  }

  private forward(to: Socket, chunk: Buffer): void {
    if (this.mode === 'blackhole') return;
    if (this.mode === 'hold') {
      this.held.push({ to, chunk });
      return;
    }
    // Timers of equal delay fire in the order they were set: the byte stream keeps its order.
    if (this.latencyMs > 0) setTimeout(() => !to.destroyed && to.write(chunk), this.latencyMs);
    else to.write(chunk);
  }

  /** `listener` sees each chunk a client sends before it is forwarded (a fault can start there). */
  tap(listener: (chunk: Buffer) => void): void {
    this.taps.push(listener);
  }

  /** The store becomes unreachable: every connection reset, new ones refused. */
  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  /** Bytes stop flowing but are kept; `restore()` delivers them in order. Nothing is reset. */
  hold(): void {
    this.mode = 'hold';
  }

  /** A silent drop: bytes are discarded both ways, sockets stay open, nothing is reset. */
  blackhole(): void {
    this.mode = 'blackhole';
    this.held = [];
  }

  /** Every chunk is delivered this much later (in order), both ways. */
  delay(latencyMs: number): void {
    this.latencyMs = latencyMs;
  }

  restore(): void {
    this.cutOff = false;
    this.mode = 'forward';
    const held = this.held;
    this.held = [];
    for (const { to, chunk } of held) if (!to.destroyed) to.write(chunk);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
