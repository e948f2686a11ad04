import { afterEach, expect, it } from 'vitest';
import type { FlowControl, NewJob } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { createRedisStore, type ShardedRedisStore } from '../src/index.js';
import { describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';
import { deleteShardedPrefix } from './sharded-fixture.js';

// What spans shards in `flowStats`: each shard holds its share of a limit (shard-flow.ts), and
// the answer adds the shards up. The single-shard story is the conformance suite's.
await describeWithRedis('flowStats over shards', () => {
  const opened: { store: ShardedRedisStore; prefix: string }[] = [];
  afterEach(async () => {
    for (const { store, prefix } of opened.splice(0)) {
      await store.close();
      await deleteShardedPrefix(prefix);
    }
  });

  it("adds up the shards' queues, their shares of a bucket, and one key's jobs on several shards", async () => {
    const prefix = testPrefix();
    const clock = new SimulatedClock();
    const store = createRedisStore({ shards: 2, url: redisUrl, prefix, clock });
    opened.push({ store, prefix });
    const job = (shard: number, key?: string): NewJob => ({
      id: store.router.idIn(shard),
      name: 'api',
      input: {},
      priority: 0,
      ...(key === undefined ? {} : { key }),
    });
    await store.enqueue([job(0, 'a'), job(1, 'a'), job(1, 'a'), job(0, 'b'), job(0), job(1)], { limit: 100 });
    const flow = new Map<string, FlowControl>([['api', { rate: { max: 4, perMs: 1_000, perKey: false } }]]);
    const t0 = clock.now();
    expect(await store.flowStats({ names: ['api'], flow })).toEqual([
      // Key a on both shards is one key of 3 jobs; `keys` counts it once per shard.
      {
        name: 'api',
        queued: 6,
        keys: 3,
        partial: false,
        top: [
          { key: 'a', queued: 3 },
          { key: 'b', queued: 1 },
        ],
        tokens: 4,
      },
    ]);
    // Each shard has a bucket of 2: the claims empty both.
    let claimed = 0;
    for (let i = 0; i < 4; i++) claimed += (await store.claim({ owner: 'node', max: 10, leaseMs: 10_000, flow })).jobs.length;
    expect(claimed).toBe(4);
    const [after] = await store.flowStats({ names: ['api'], flow });
    // Held until the first shard's bucket refills: 2 per 1,000 ms, one every 500 ms.
    expect(after).toMatchObject({ queued: 2, tokens: 0, heldUntil: t0 + 500 });
    await clock.advance(500);
    expect((await store.flowStats({ names: ['api'], flow }))[0]).toMatchObject({ tokens: 2 });
    expect((await store.flowStats({ names: ['api'], flow }))[0]!.heldUntil).toBeUndefined();
  });

  it('carries a push-back (ctx.rateLimited) to every shard: the whole type waits, whichever shard claims', async () => {
    const prefix = testPrefix();
    const clock = new SimulatedClock();
    const store = createRedisStore({ shards: 2, url: redisUrl, prefix, clock });
    opened.push({ store, prefix });
    const job = (shard: number): NewJob => ({ id: store.router.idIn(shard), name: 'upstream', input: {}, priority: 0 });
    const [first, second] = [job(0), job(1)];
    await store.enqueue([first], { limit: 100 });
    const { jobs } = await store.claim({ owner: 'node', max: 1, leaseMs: 10_000 });
    expect(jobs.map((j) => j.id)).toEqual([first.id]);
    await store.enqueue([second], { limit: 100 });
    const t0 = clock.now();
    expect(await store.settle([{ id: first.id, token: jobs[0]!.token, outcome: 'released', pushBack: { until: t0 + 1_000 } }])).toEqual(['ok']);
    // Shard 1 never saw the job, yet holds its type back too.
    expect((await store.claim({ owner: 'node', max: 10, leaseMs: 10_000 })).jobs).toEqual([]);
    expect((await store.flowStats({ names: ['upstream'] }))[0]).toMatchObject({ queued: 2, heldUntil: t0 + 1_000, pushBackUntil: t0 + 1_000 });
    await clock.advance(1_000);
    let claimed = 0;
    for (let i = 0; i < 4; i++) claimed += (await store.claim({ owner: 'node', max: 10, leaseMs: 10_000 })).jobs.length;
    expect(claimed).toBe(2);
  });
});
