import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones: the node behind it is cut off, and can tell. */
  cut(): Promise<void>;
  /**
   * Stops forwarding without closing anything, in both directions, for the open connections and
   * for new ones: a partition that drops packets silently. Nothing tells either side; only a
   * command timeout can.
   */
  blackhole(): void;
  /** Forwards again: after a cut, accepts connections on the same port; after a black hole, delivers what was held. */
  heal(): Promise<void>;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
}

/**
 * A loopback TCP proxy in front of Redis, for one node: cutting it partitions that node from
 * Redis while the node itself keeps running (unlike SIGSTOP), so its jobs finish and it tries to
 * record them while it cannot reach the store.
 *
 * A black hole pauses both sockets of every link instead of reading and discarding: TCP
 * retransmits what a dropped packet carried, so once a real partition heals the bytes arrive
 * late rather than never (the sockets' buffers fill meanwhile and the senders' windows close, as
 * they would). Discarding bytes would instead cut the RESP stream mid-reply — a corruption no
 * network produces on a live TCP connection.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Link>();
  let server: Server | undefined;
  let port = 0;
  let holding = false;
  const forward = (link: Link) => {
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
  };
  const hold = (link: Link) => {
    link.client.unpipe(link.upstream);
    link.upstream.unpipe(link.client);
    link.client.pause();
    link.upstream.pause();
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((client) => {
        const link = { client, upstream: connect(targetPort, '127.0.0.1') };
        links.add(link);
        for (const s of [link.client, link.upstream]) {
          s.on('error', () => {});
          s.once('close', () => {
            links.delete(link);
            link.client.destroy();
            link.upstream.destroy();
          });
        }
        if (holding) hold(link);
        else forward(link);
      });
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        const address = next.address();
        port = typeof address === 'object' && address ? address.port : port;
        server = next;
        resolve();
      });
    });
  const stop = async () => {
    const current = server;
    server = undefined;
    holding = false;
    for (const link of links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  return {
    port,
    cut: stop,
    blackhole() {
      holding = true;
      for (const link of links) hold(link);
    },
    async heal() {
      if (holding) {
        holding = false;
        for (const link of links) forward(link);
      }
      if (!server) await listen();
    },
    close: stop,
  };
}
