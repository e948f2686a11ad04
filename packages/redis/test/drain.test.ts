import { afterEach, expect, it } from 'vitest';
import { createJobSystem, defineJob } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

await describeWithRedis('stop({ drain: true }) on a shared Redis store', () => {
  let store: RedisStore | undefined;
  let prefix = '';
  afterEach(async () => {
    await store?.close();
    await deletePrefix(prefix);
  });

  it('lets the running jobs finish and leaves the queued ones to the other nodes', async () => {
    prefix = testPrefix();
    store = createRedisStore({ url: redisUrl, prefix });
    const started: string[] = [];
    const work = defineJob({
      name: 'work',
      async run(_input: unknown, ctx) {
        started.push(ctx.id);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return 'done';
      },
    });
    const system = createJobSystem({ jobs: [work], workers: 1, store, leaseMs: 5_000 });
    await system.start();
    const handles = [await system.submit(work, undefined), await system.submit(work, undefined), await system.submit(work, undefined)];
    for (let i = 0; i < 100 && started.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toHaveLength(1);
    await system.stop({ drain: true, timeoutMs: 5_000 });
    const records = await Promise.all(handles.map((h) => store!.get(h.id)));
    expect(records.map((r) => r?.status).sort()).toEqual(['completed', 'queued', 'queued']);
    expect(started).toHaveLength(1);
  });
});
