import { connect, createServer, type Socket } from 'node:net';

export interface TcpRelay {
  /** The relay's `http://127.0.0.1:port`: clients connect here instead of to the server. */
  origin: string;
  /** How many connections clients opened through the relay. */
  readonly connections: number;
  /** Cuts every open connection (as a dropped network path would); new ones are still relayed. */
  cutAll(): void;
  /** The next `n` connections are closed as soon as they open, before any byte is relayed. */
  dropNext(n: number): void;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of a real server, for the one fault a test cannot ask of the server: a
 * connection that drops mid-stream.
 */
export async function startTcpRelay(target: string): Promise<TcpRelay> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let connections = 0;
  let drops = 0;
  const server = createServer((inbound) => {
    connections++;
    if (drops > 0) {
      drops--;
      inbound.on('error', () => {});
      return void inbound.destroy();
    }
    const outbound = connect(Number(port), hostname);
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    for (const socket of pair) {
      socket.on('error', () => {});
      socket.on('close', () => {
        pairs.delete(pair);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get connections() {
      return connections;
    },
    dropNext(n) {
      drops = n;
    },
    cutAll() {
      for (const [inbound, outbound] of pairs) {
        inbound.destroy();
        outbound.destroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [inbound, outbound] of pairs) {
          inbound.destroy();
          outbound.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
