import { Redis, type Cluster } from 'ioredis';
import { RedisStore, type RedisStoreOptions } from './redis-store.js';
import { shardPrefix } from './shard-router.js';
import { ShardedRedisStore } from './sharded-store.js';
import { SignalSubscriber } from './signal-subscriber.js';

const defaultUrl = 'redis://127.0.0.1:6379';

export interface ShardedRedisStoreOptions extends Omit<RedisStoreOptions, 'url' | 'client'> {
  /**
   * How the store is split; fixed for the life of its data (changing it is a migration by drain,
   * see docs/scaling-out.md).
   * - a number N: N shards, each under its own hash tag, on one connection (`url` or `client`).
   *   On a Redis Cluster the tags are chosen so that their slots spread evenly over the masters.
   * - a list: one shard per entry, a URL or a client each (independent Redis servers, for
   *   deployments without Cluster). The store closes the connections it opened for URLs.
   */
  shards: number | readonly (string | Redis | Cluster)[];
  /** With a number of shards: where to connect when no `client` is given. */
  url?: string | undefined;
  /** With a number of shards: the connection (a `Redis` or a `Cluster`) they share; never closed by the store. */
  client?: Redis | Cluster | undefined;
  /**
   * A claim that was not filled by the shards with work hints also looks at shards nobody
   * looked at for this long (store clock ms): a lost signal delays work at most this much.
   * Default 500.
   */
  probeMs?: number;
}

/**
 * The Redis job store: one store on one hash tag, or, with `shards`, one logical store over many.
 *
 * @example
 * // One Redis, one shard (every key under one hash tag):
 * const store = createRedisStore({ url: process.env.REDIS_URL, prefix: 'thumbnails' });
 * // Three independent Redis servers, one shard each:
 * const sharded = createRedisStore({ shards: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379', 'redis://10.0.0.3:6379'] });
 * // Twelve shards spread over the masters of a Redis Cluster:
 * const clustered = createRedisStore({ shards: 12, client: new Cluster([{ host: '10.0.0.1', port: 6379 }], { shardedSubscribers: true }) });
 */
export function createRedisStore(options: ShardedRedisStoreOptions): ShardedRedisStore;
export function createRedisStore(options?: RedisStoreOptions): RedisStore;
export function createRedisStore(options: RedisStoreOptions | ShardedRedisStoreOptions = {}): RedisStore | ShardedRedisStore {
  if (!isSharded(options)) return new RedisStore(options);
  const { shards, url, client, probeMs, ...common } = options;
  const prefix = common.prefix ?? 'scalable-api';
  if (/[{}]/.test(prefix)) throw new TypeError(`prefix ${JSON.stringify(prefix)} must not contain braces: the store adds its own hash tags`);
  const owned: (Redis | Cluster)[] = [];
  const connect = (target: string) => {
    // The options RedisStore gives the connections it opens itself.
    const connection = new Redis(target, { maxRetriesPerRequest: 3 });
    connection.on('error', () => {});
    owned.push(connection);
    return connection;
  };
  let clients: (Redis | Cluster)[];
  if (typeof shards === 'number') {
    if (url !== undefined && client !== undefined) throw new TypeError('createRedisStore: give either url or client, not both');
    const shared = client ?? connect(url ?? defaultUrl);
    clients = Array.from({ length: shards }, () => shared);
  } else {
    if (url !== undefined || client !== undefined)
      throw new TypeError('createRedisStore: with a list of shards, give each shard its URL or client in the list');
    // A URL listed more than once (more shards than servers) is one connection.
    const byUrl = new Map<string, Redis>();
    clients = shards.map((entry) => {
      if (typeof entry !== 'string') return entry;
      const known = byUrl.get(entry);
      if (known) return known;
      const connection = connect(entry);
      byUrl.set(entry, connection);
      return connection;
    });
  }
  const count = clients.length;
  // Validated here, before any store is built: ShardRouter would throw too, after connecting.
  if (!(Number.isInteger(count) && count >= 1 && count <= 1_024)) {
    for (const connection of owned) connection.disconnect();
    throw new RangeError(`createRedisStore: shards must be 1 to 1024, not ${typeof shards === 'number' ? shards : `a list of ${count}`}`);
  }
  // The shards on one connection share one subscribed connection, each on its own channel, and
  // each shard's store listens on the connection for reconnects (to reload its functions).
  const subscribers = new Map<Redis | Cluster, SignalSubscriber>();
  for (const connection of clients) {
    if (!subscribers.has(connection)) {
      subscribers.set(connection, new SignalSubscriber(connection));
      connection.setMaxListeners(connection.getMaxListeners() + 2); // the sharded store's own (ShardHealth)
    }
    connection.setMaxListeners(connection.getMaxListeners() + 1);
  }
  const stores = clients.map(
    (connection, shard) =>
      new RedisStore({ ...common, client: connection, prefix: shardPrefix(prefix, shard, count), subscriber: subscribers.get(connection)! }),
  );
  return new ShardedRedisStore({
    shards: stores,
    async release() {
      await Promise.all([...subscribers.values()].map((subscriber) => subscriber.close()));
      // quit() waits for Redis to answer; a connection that is down would wait for its reconnect.
      await Promise.all(
        owned.map(async (connection) => {
          if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
          else connection.disconnect();
        }),
      );
    },
    clients,
    prefix,
    clock: common.clock ?? { now: () => Date.now() },
    probeMs: probeMs ?? 500,
  });
}

function isSharded(options: RedisStoreOptions | ShardedRedisStoreOptions): options is ShardedRedisStoreOptions {
  return (options as Partial<ShardedRedisStoreOptions>).shards !== undefined;
}
