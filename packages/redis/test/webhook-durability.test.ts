import { deliveryJobId, webhookJobName, type WebhookDelivery } from '@scalable-api/core';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createRedisStore, ShardRouter, shardPrefix } from '../src/index.js';
import { createdAtOf } from '../src/job-birth.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';
import { deleteShardedPrefix } from './sharded-fixture.js';

const url = 'https://hooks.example.com/done';

// The settlement and the delivery job are one function call: once `settle` has answered, the
// delivery is in Redis, and a node that dies then (here: nothing of the settling node ever runs
// again until the test is over) takes nothing with it — any other node claims it.
await describeWithRedis('webhook delivery jobs survive the node that settled', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('finds the delivery job in Redis right after the settlement, and another node claims it', async () => {
    const prefix = testPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const crashed = createRedisStore({ url: redisUrl, prefix });
    cleanups.push(() => crashed.close());
    await crashed.enqueue([{ id: 'job-1', name: 'render', input: { n: 1 }, priority: 0, webhook: url, meta: { tenant: 't1' } }], { limit: 100 });
    const { jobs } = await crashed.claim({ owner: 'node-a', max: 1, leaseMs: 30_000 });
    expect(await crashed.settle([{ ...jobs[0]!, outcome: 'completed', output: { ok: true } }])).toEqual(['ok']);
    // The node is gone: no further call through it.

    const raw = new Redis(redisUrl);
    cleanups.push(async () => void (await raw.quit()));
    const delivery = await raw.hgetall(`{${prefix}}:j:${deliveryJobId('job-1')}`);
    expect(delivery).toMatchObject({ n: webhookJobName, s: 'queued', m: '{"tenant":"t1"}' });

    const survivor = createRedisStore({ url: redisUrl, prefix });
    cleanups.push(() => survivor.close());
    const claimed = await survivor.claim({ owner: 'node-b', max: 10, leaseMs: 30_000, names: [webhookJobName] });
    expect(claimed.jobs.map((j) => j.id)).toEqual([deliveryJobId('job-1')]);
    expect(claimed.jobs[0]!.input).toEqual({
      url,
      jobId: 'job-1',
      name: 'render',
      status: 'completed',
      finishedAt: createdAtOf(delivery['b']!),
      output: { ok: true },
    } satisfies WebhookDelivery);
  });

  it("puts the delivery job in the settled job's shard", async () => {
    const prefix = testPrefix();
    cleanups.push(() => deleteShardedPrefix(prefix));
    const store = createRedisStore({ url: redisUrl, prefix, shards: 3 });
    cleanups.push(() => store.close());
    const router = new ShardRouter(3);
    const raw = new Redis(redisUrl);
    cleanups.push(async () => void (await raw.quit()));
    for (const shard of [0, 1, 2]) {
      const id = router.idIn(shard);
      await store.enqueue([{ id, name: 'render', input: {}, priority: 0, webhook: url }], { limit: 100 });
      const { jobs } = await store.claim({ owner: 'node-a', max: 1, leaseMs: 30_000, names: ['render'] });
      expect(jobs[0]!.id).toBe(id);
      await store.cancel(id);
      await store.settle([{ ...jobs[0]!, outcome: 'failed', error: { code: 'JOB_FAILED', message: 'x' } }]);
      expect(router.shardOf(deliveryJobId(id))).toBe(shard);
      expect(await raw.hget(`{${shardPrefix(prefix, shard, 3)}}:j:${deliveryJobId(id)}`, 's')).toBe('queued');
      expect(await store.get(deliveryJobId(id))).toMatchObject({ name: webhookJobName, input: { jobId: id, status: 'cancelled' } });
    }
  });
});
