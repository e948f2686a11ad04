import { connect, createServer, type Socket } from 'node:net';

export interface RedisRelay {
  /** Where clients connect instead of the Redis server. */
  url: string;
  /** While on, what Redis sends to subscriber connections is dropped: pub/sub messages lost, the connections alive. */
  dropMessages(on: boolean): void;
  /** Closes the relay: every connection is cut and new ones are refused. */
  cut(): Promise<void>;
}

/**
 * A TCP relay in front of a real Redis, for faults that cannot be asked of Redis itself: messages
 * lost on a subscriber connection that stays up (a lossy path, or a message dropped on the way),
 * or a server that goes away for good. Subscriber connections are known by the SUBSCRIBE they send.
 */
export async function startRedisRelay(target: URL): Promise<RedisRelay> {
  const sockets = new Set<Socket>();
  let dropping = false;
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    let subscriber = false;
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
      socket.on('error', () => {});
    }
    inbound.on('data', (chunk: Buffer) => {
      // A RESP command whose name is (P|S)SUBSCRIBE; a script that mentions the word is not one.
      if (!subscriber && /(?:^|\r\n)\*\d+\r\n\$\d+\r\n[ps]?subscribe\r\n/i.test(chunk.toString('latin1'))) subscriber = true;
      outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (!(subscriber && dropping)) inbound.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    dropMessages(on) {
      dropping = on;
    },
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
