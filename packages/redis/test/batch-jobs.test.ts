import { afterEach, expect, it } from 'vitest';
import { createJobSystem, defineJob, NonRetryableError, type JobSystem } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

// The batch cases of packages/core/test/batch-jobs.test.ts on the Redis store, in real time
// (round trips to Redis do not advance a simulated clock), with two nodes sharing the store.
await describeWithRedis('batch jobs on a Redis store', () => {
  const stores: RedisStore[] = [];
  const systems: JobSystem[] = [];
  let prefix = '';
  afterEach(async () => {
    for (const system of systems.splice(0)) await system.stop({ drain: false, timeoutMs: 0 });
    for (const store of stores.splice(0)) await store.close();
    await deletePrefix(prefix);
  });

  const sizes: number[] = [];
  const squares = defineJob({
    name: 'squares',
    batch: { max: 4, waitMs: 50 },
    retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
    async runBatch(inputs: { n: number; holdMs?: number }[], ctx) {
      sizes.push(inputs.length);
      const holdMs = Math.max(0, ...inputs.map((input) => input.holdMs ?? 0));
      if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
      return inputs.map((input, i) =>
        input.n < 0 ? new NonRetryableError(`negative ${input.n}`) : { square: input.n * input.n, attempt: ctx.jobs[i]!.attempt },
      );
    },
  });
  const parent = defineJob({
    name: 'sum',
    async run(input: { upTo: number }, ctx) {
      const squaresOf = await Promise.all(Array.from({ length: input.upTo }, (_, i) => ctx.spawn(squares, { n: i + 1 }, { key: `n${i}` })));
      return squaresOf.reduce((sum, { square }) => sum + square, 0);
    },
  });

  async function node(leaseMs = 5_000) {
    const store = createRedisStore({ url: redisUrl, prefix });
    stores.push(store);
    const system = createJobSystem({ jobs: [squares, parent], workers: 8, store, leaseMs });
    systems.push(system as unknown as JobSystem);
    await system.start();
    return system;
  }

  it('settles each job of a batch with its own entry; a bad input fails alone', async () => {
    prefix = testPrefix();
    sizes.length = 0;
    const system = await node();
    const handles = await Promise.all([1, 2, -3, 4].map((n) => system.submit(squares, { n })));
    const outcomes = await Promise.allSettled(handles.map((h) => h.result()));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.square : (o.reason as { code: string }).code))).toEqual([1, 4, 'JOB_FAILED', 16]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(4);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });

  it('renews every lease of a batch that outlives the lease, and cancels one job while the others finish', async () => {
    prefix = testPrefix();
    const system = await node(300);
    const handles = await Promise.all([1, 2, 3].map((n) => system.submit(squares, { n, holdMs: 1_200 })));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await system.cancel(handles[1]!.id)).toBe('cancelling');
    const outcomes = await Promise.allSettled(handles.map((h) => h.result()));
    expect(outcomes[0]).toMatchObject({ status: 'fulfilled', value: { square: 1, attempt: 1 } });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 'JOB_CANCELLED' } });
    expect(outcomes[2]).toMatchObject({ status: 'fulfilled', value: { square: 9, attempt: 1 } });
  });

  it('runs the children of a tree as batches across two nodes', async () => {
    prefix = testPrefix();
    const [a] = await Promise.all([node(), node()]);
    const handle = await a.submit(parent, { upTo: 12 });
    expect(await handle.result()).toBe(650);
  });
});
