import type { Settlement, SettleOutcome } from '@scalable-api/core';
import type { RedisStore } from './redis-store.js';

/**
 * A push-back (`ctx.rateLimited`) holds the whole job type, or its key, on every node: on a
 * sharded store, on every shard. The job's own shard recorded it with the settlement; this
 * carries it to the others — the job's name read from its record first, since a settlement
 * names only the job. Rare (an upstream said 429), so the extra round trips cost nothing in
 * the common case. A shard that does not answer misses that push-back: its share of the type
 * runs on meanwhile, held by its own share of any rate limit still.
 */
export async function spreadPushBacks(
  settlements: readonly Settlement[],
  outcomes: readonly SettleOutcome[],
  shards: number,
  shardOf: (id: string) => number,
  on: <T>(shard: number, operation: (store: RedisStore) => Promise<T>) => Promise<T>,
): Promise<void> {
  if (shards <= 1) return;
  const spread: Promise<unknown>[] = [];
  settlements.forEach((s, i) => {
    if (s.outcome !== 'released' || !s.pushBack || outcomes[i] !== 'ok') return;
    const home = shardOf(s.id);
    const pushBack = s.pushBack;
    spread.push(
      on(home, (store) => store.get(s.id)).then((record) => {
        if (!record) return;
        const others = Array.from({ length: shards }, (_, shard) => shard).filter((shard) => shard !== home);
        return Promise.allSettled(others.map((shard) => on(shard, (store) => store.pushBack(record.name, pushBack))));
      }),
    );
  });
  await Promise.allSettled(spread);
}
