/**
 * The store-level half of bench/redis-scale.ts: the store's own cost per job over 1, 2 and 4
 * independent Redis servers, without HTTP or workers in the way. One loop, as a busy node runs
 * it: enqueue a batch of BATCH jobs (one tick, so one shard), claim BATCH, settle them; JOBS jobs
 * per measurement. Per job: Redis CPU (`INFO cpu`, per server), this process's CPU, and the FCALL
 * round trips.
 */
import { newJobId, type JobStore } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import type { BenchRedis } from './bench-redis.js';

export interface StoreSample {
  redisUs: number;
  perServerUs: number[];
  nodeUs: number;
  fcallsPerJob: number;
}

// Finished jobs kept: well below a run's jobs, so every measured job past the first thousand also
// pays for its drop, as at a busy node's steady state (the default keeps 10,000, which a run of
// 10,000 jobs on a flushed Redis never passes: measured 2026-12-04, drops add 1-1.5 µs of Redis
// per job).
const retention = { count: 1_000 };

export const storeVariants = [
  { name: '1 shard (plain store)', servers: 1, make: (urls: string[]) => createRedisStore({ url: urls[0]!, prefix: 'bench', retention }) },
  { name: '1 shard (sharded store)', servers: 1, make: (urls: string[]) => createRedisStore({ shards: urls, prefix: 'bench', retention }) },
  { name: '2 shards', servers: 2, make: (urls: string[]) => createRedisStore({ shards: urls, prefix: 'bench', retention }) },
  { name: '4 shards', servers: 4, make: (urls: string[]) => createRedisStore({ shards: urls, prefix: 'bench', retention }) },
] as const;

export async function storeRun(make: (urls: string[]) => JobStore, used: BenchRedis[], jobs: number, batch: number): Promise<StoreSample> {
  await Promise.all(used.map((r) => r.flush()));
  const store = make(used.map((r) => r.url));
  try {
    store.subscribe(() => {});
    await store.counts(); // connected and subscribed before the clock starts
    const redis0 = await Promise.all(used.map((r) => r.cpuUs()));
    const node0 = process.cpuUsage();
    let done = 0;
    while (done < jobs) {
      // A store without `newId` gets `newJobId()` ids, as the runtime gives it: like for like with the sharded store's.
      const ids = Array.from({ length: batch }, () => (store.newId ? store.newId({}) : newJobId()));
      await store.enqueue(
        ids.map((id) => ({ id, name: 'echo', input: { hello: 'world' }, priority: 0 })),
        { limit: 1_000_000 },
      );
      // The next batch is another tick, as the next loop turn of an HTTP front is.
      await new Promise((resolve) => setImmediate(resolve));
      const { jobs: claimed } = await store.claim({ owner: 'bench', max: batch, leaseMs: 60_000 });
      await store.settle(claimed.map((j) => ({ ...j, outcome: 'completed' as const, output: { hello: 'world' } })));
      done += claimed.length;
    }
    const node = process.cpuUsage(node0);
    const redis1 = await Promise.all(used.map((r) => r.cpuUs()));
    const stats = await Promise.all(used.map((r) => r.commandStats()));
    const perServerUs = redis1.map((us, i) => (us - redis0[i]!) / done);
    return {
      redisUs: perServerUs.reduce((a, b) => a + b, 0),
      perServerUs,
      nodeUs: (node.user + node.system) / done,
      fcallsPerJob: stats.reduce((sum, s) => sum + (s.get('fcall')?.calls ?? 0), 0) / done,
    };
  } finally {
    await store.close();
  }
}
