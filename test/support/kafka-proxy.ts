import { Server, Socket, createConnection, createServer } from 'node:net';

const METADATA = 3;
const FIND_COORDINATOR = 10;

/**
 * A TCP proxy in front of a single Kafka broker. A plain proxy would only carry the bootstrap
 * connection: clients then dial the broker's advertised address. This one rewrites that address
 * (in Metadata and FindCoordinator answers, the non-flexible versions kafkajs speaks) to its own,
 * so every connection of the client goes through it and `cut()` really takes Kafka away from the
 * service (and from nobody else).
 */
export class KafkaProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  private brokersHidden = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(brokerHost: string, brokerPort: number): Promise<KafkaProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const proxy = new KafkaProxy(server, typeof address === 'object' && address ? address.port : 0);
    server.on('connection', (client: Socket) => proxy.accept(client, brokerHost, brokerPort));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
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
    const requests = new Map<number, { apiKey: number; apiVersion: number }>();
    onFrames(client, (frame) => {
      requests.set(frame.readInt32BE(8), {
        apiKey: frame.readInt16BE(4),
        apiVersion: frame.readInt16BE(6),
      });
      upstream.write(frame);
    });
    onFrames(upstream, (frame) => {
      const correlationId = frame.readInt32BE(4);
      const request = requests.get(correlationId);
      requests.delete(correlationId);
      client.write(request ? this.rewrite(frame, request.apiKey, request.apiVersion) : frame);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  }

  /** Points the broker addresses of an answer at the proxy. */
  private rewrite(frame: Buffer, apiKey: number, apiVersion: number): Buffer {
    if (apiKey === METADATA && apiVersion >= 1 && apiVersion <= 8) {
      let at = 8 + (apiVersion >= 3 ? 4 : 0);
      const count = frame.readInt32BE(at);
      const parts: Buffer[] = [frame.subarray(4, at), int32(this.brokersHidden ? 0 : count)];
      at += 4;
      for (let i = 0; i < count; i++) {
        const nodeId = frame.subarray(at, at + 4);
        at += 4;
        at += 2 + frame.readInt16BE(at) + 4; // host, port
        const rackLength = frame.readInt16BE(at);
        const rack = frame.subarray(at, at + 2 + Math.max(0, rackLength));
        at += rack.length;
        if (!this.brokersHidden) parts.push(nodeId, this.hostAndPort(), rack);
      }
      parts.push(frame.subarray(at));
      return withSize(parts);
    }
    if (apiKey === FIND_COORDINATOR && apiVersion <= 2) {
      let at = 8 + (apiVersion >= 1 ? 4 : 0) + 2; // throttle, error code
      if (apiVersion >= 1) {
        const messageLength = frame.readInt16BE(at);
        at += 2 + Math.max(0, messageLength);
      }
      at += 4; // node id
      const head = frame.subarray(4, at);
      at += 2 + frame.readInt16BE(at) + 4;
      return withSize([head, this.hostAndPort(), frame.subarray(at)]);
    }
    return frame;
  }

  private hostAndPort(): Buffer {
    const host = Buffer.from('127.0.0.1');
    const out = Buffer.alloc(2 + host.length + 4);
    out.writeInt16BE(host.length, 0);
    host.copy(out, 2);
    out.writeInt32BE(this.port, 2 + host.length);
    return out;
  }

  /** Kafka becomes unreachable for the client: every connection reset, new ones refused. */
  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  /**
   * Metadata answers list no broker (as while a cluster restarts): kafkajs' fetcher finds no
   * node and the consumer crashes and restarts with a new group, until `restore()`. Reconnects
   * every client so that each fetches metadata again.
   */
  hideBrokers(): void {
    this.brokersHidden = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.cutOff = false;
    this.brokersHidden = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Calls `handle` with each whole size-prefixed Kafka frame (size included). */
function onFrames(socket: Socket, handle: (frame: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = 4 + pending.readInt32BE(0);
      handle(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}

function withSize(parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value, 0);
  return out;
}
