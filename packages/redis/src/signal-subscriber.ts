import type { Cluster, Redis } from 'ioredis';

interface Subscription {
  onMessage: (message: string) => void;
  onResumed: () => void;
}

/**
 * One subscribed connection for any number of signal channels (a subscribed connection can do
 * nothing else, so it is a second one beside the command client). Several stores may share one
 * (`RedisStoreOptions.subscriber`: the shards of a store on one server), each listening on its own
 * channel.
 *
 * A connection that drops (Redis closes slow subscribers itself: `client-output-buffer-limit
 * pubsub`) reconnects and subscribes again; whatever was published meanwhile is gone, so once the
 * subscription is live again every channel's `onResumed` runs and its listeners re-derive their
 * state from the records.
 *
 * @example
 * const subscriber = new SignalSubscriber(client);
 * const shards = [0, 1].map((i) => createRedisStore({ client, prefix: `jobs:${i}`, subscriber }));
 */
export class SignalSubscriber {
  private connection: Redis | Cluster | undefined;
  private readonly channels = new Map<string, Subscription[]>();
  /** Whether signals may have been missed since the last live subscription (set on a drop or a failed subscribe). */
  private gap = false;
  private closed = false;

  constructor(private readonly client: Redis | Cluster) {}

  /** Listens on `channel`; resolves once the subscription is live (or could not be made: then a later reconnect resumes it). */
  async listen(channel: string, subscription: Subscription): Promise<() => void> {
    const connection = this.open();
    let list = this.channels.get(channel);
    const fresh = list === undefined;
    if (!list) {
      list = [];
      this.channels.set(channel, list);
    }
    list.push(subscription);
    const stop = () => {
      const current = this.channels.get(channel);
      if (!current) return;
      const rest = current.filter((s) => s !== subscription);
      if (rest.length > 0) return void this.channels.set(channel, rest);
      this.channels.delete(channel);
      if (!this.closed) connection.sunsubscribe(channel).catch(() => {});
    };
    if (fresh) {
      await connection.ssubscribe(channel).catch(() => {
        this.gap = true;
      });
    }
    return stop;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    const connection = this.connection;
    // quit() waits for Redis to answer; a connection that is down would wait for its reconnect.
    if (connection) await (connection.status === 'ready' ? connection.quit().catch(() => connection.disconnect()) : connection.disconnect());
  }

  private open(): Redis | Cluster {
    if (this.connection) return this.connection;
    // ioredis would subscribe again by itself after a reconnect, but without telling when the
    // subscription is live; this does it explicitly, and then announces the gap.
    // Sharded pub/sub (SSUBSCRIBE, what the functions SPUBLISH): on a Cluster, ioredis then keeps
    // one subscriber per master and sends each channel's subscription to the master of its slot.
    const connection = this.client.isCluster
      ? (this.client as Cluster).duplicate(undefined, { shardedSubscribers: true, redisOptions: { connectionName: 'scalable-api:signals' } })
      : (this.client as Redis).duplicate({ connectionName: 'scalable-api:signals' });
    this.connection = connection;
    connection.on('smessage', (channel: string, message: string) => {
      for (const subscription of this.channels.get(channel) ?? []) subscription.onMessage(message);
    });
    // Reported by the operations that hit a lost connection; without a listener ioredis would
    // also print each reconnect attempt.
    connection.on('error', () => {});
    let connectedBefore = false;
    connection.on('close', () => {
      if (connectedBefore) this.gap = true;
    });
    connection.on('ready', () => {
      connectedBefore = true;
      void this.resubscribe(connection);
    });
    return connection;
  }

  private async resubscribe(connection: Redis | Cluster): Promise<void> {
    const names = [...this.channels.keys()];
    if (names.length === 0) return;
    try {
      // One call per channel: on a Cluster, channels of different slots cannot share one.
      await Promise.all(names.map((name) => connection.ssubscribe(name)));
    } catch {
      return; // the connection went again; its next 'ready' tries again
    }
    if (!this.gap || this.closed) return;
    this.gap = false;
    for (const name of names) for (const subscription of this.channels.get(name) ?? []) subscription.onResumed();
  }
}
