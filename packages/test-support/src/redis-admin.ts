// What tests and benches do to a Redis beside the store: see whether it answers, and delete what
// a run left behind. Typed by what they call, so this package needs no Redis client of its own:
// pass an ioredis `Redis` (or one node of a `Cluster`).

/** What `deleteKeys` calls. */
export interface KeyClient {
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', n: number): Promise<[string, string[]]>;
  del(...keys: string[]): Promise<number>;
}

/**
 * Deletes every key matching `pattern`, one SCAN page at a time: never KEYS, which blocks a
 * Redis others share. `oneByOne` on a Cluster node, where the keys of one page may sit in
 * different slots and one DEL for them all would be refused.
 */
export async function deleteKeys(client: KeyClient, pattern: string, options: { oneByOne?: boolean } = {}): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    if (options.oneByOne) for (const key of keys) await client.del(key);
    else if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

/** What `redisAnswers` calls. */
export interface PingClient {
  connect(): Promise<unknown>;
  ping(): Promise<string>;
  disconnect(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Whether a Redis answers PING through `client` — made with `lazyConnect`, no retries and a short
 * `connectTimeout`, so a missing server answers `false` at once. The client is disconnected after.
 * A Redis that loads its AOF answers LOADING: it is up once PING works.
 */
export async function redisAnswers(client: PingClient): Promise<boolean> {
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
