import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimedJob, NewJob } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { canStartRedis, startRedisServer, type PrivateRedis } from './private-redis.js';
import { testPrefix } from './redis-fixture.js';

/**
 * Trees far deeper and wider than one Redis call may take on: cascades run iteratively, a
 * bounded step per call, continued until done. On a Redis of the test's own, whose SLOWLOG gives
 * the longest call of each case (printed: a figure, not a threshold).
 */
if (!canStartRedis) console.warn('\n!!! deep trees suite SKIPPED: install redis-server to run it. !!!\n');

const LIMIT = { limit: 10_000_000 };

(canStartRedis ? describe : describe.skip)('createRedisStore with deep and wide trees', () => {
  let server: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer(['--slowlog-log-slower-than', '2000', '--slowlog-max-len', '10000']);
    admin = new Redis(server.port);
  }, 30_000);
  afterAll(() => {
    admin?.disconnect();
    server?.stop();
  });

  function open(retention?: { count: number }): RedisStore {
    return createRedisStore({ url: `redis://127.0.0.1:${server.port}`, prefix: testPrefix(), ...(retention ? { retention } : {}) });
  }

  /** The longest command since the last call, in ms, from SLOWLOG (0 when none took 2 ms). */
  async function longestMs(): Promise<number> {
    const entries = (await admin.slowlog('GET', -1)) as [number, number, number, string[]][];
    await admin.slowlog('RESET');
    if (process.env.SLOWLOG_DEBUG) for (const e of entries.slice(0, 5)) console.info(e[2], e[3].slice(0, 12).join(' ').slice(0, 200));
    return Math.max(0, ...entries.map((e) => e[2] / 1_000));
  }

  async function enqueueAll(store: RedisStore, jobs: NewJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 5_000) {
      const outcomes = await store.enqueue(jobs.slice(i, i + 5_000), LIMIT);
      expect(outcomes.every((o) => o.ok)).toBe(true);
    }
  }

  const chain = (depth: number): NewJob[] =>
    Array.from({ length: depth }, (_, i) => ({ id: `j${i}`, name: 'page', input: null, priority: 0, ...(i > 0 ? { parentId: `j${i - 1}` } : {}) }));

  it('settles a 12,000-deep chain up from its leaf (each page spawned the next and ended first)', async () => {
    const store = open();
    try {
      const depth = 12_000;
      await enqueueAll(store, chain(depth));
      let leafLease: ClaimedJob | undefined;
      for (let claimed = 0; claimed < depth;) {
        const { jobs } = await store.claim({ owner: 'me', max: 1_000, leaseMs: 600_000 });
        claimed += jobs.length;
        // Every page but the last ends before its child: it then waits for it.
        const early = jobs.filter((j) => j.id !== `j${depth - 1}`);
        expect(await store.settle(early.map((j) => ({ ...j, outcome: 'completed' as const, output: j.id })))).toEqual(early.map(() => 'ok'));
        const leaf = jobs.find((j) => j.id === `j${depth - 1}`);
        if (leaf) leafLease = leaf;
      }
      await longestMs();
      expect(await store.get('j0')).toMatchObject({ status: 'waitingChildren' });
      if (!leafLease) throw new Error('the leaf was never claimed');
      expect(await store.settle([{ ...leafLease, outcome: 'completed', output: 'leaf' }])).toEqual(['ok']);
      console.info(`12,000-deep chain settled up: longest Redis command ${await longestMs()} ms`);
      expect(await store.get('j0')).toMatchObject({ status: 'completed', output: 'j0' });
      expect(await store.counts()).toMatchObject({ completed: depth, waitingChildren: 0, running: 0 });
    } finally {
      await store.close();
    }
  }, 120_000);

  it('cancels and drops a 100,000-child tree', async () => {
    const store = open({ count: 0 });
    try {
      const width = 100_000;
      await enqueueAll(store, [{ id: 'root', name: 'fan', input: null, priority: 0 }]);
      await enqueueAll(
        store,
        Array.from({ length: width }, (_, i) => ({ id: `c${i}`, name: 'leaf', input: null, priority: 0, parentId: 'root' })),
      );
      await longestMs();
      // Cancelled (and, with no retention, dropped) before cancel() resolves.
      expect(await store.cancel('root')).toBe('cancelled');
      console.info(`100,000-child tree cancelled and dropped: longest Redis command ${await longestMs()} ms`);
      expect(await store.getMany(['root', 'c0', `c${width - 1}`])).toEqual([undefined, undefined, undefined]);
      expect(await store.counts()).toMatchObject({ queued: 0, waitingChildren: 0, cancelled: 0 });
    } finally {
      await store.close();
    }
  }, 180_000);

  it('cancels and drops a 100,000-deep chain', async () => {
    const store = open({ count: 0 });
    try {
      const depth = 100_000;
      await enqueueAll(store, chain(depth));
      await longestMs();
      expect(await store.cancel('j0')).toBe('cancelled');
      console.info(`100,000-deep chain cancelled and dropped: longest Redis command ${await longestMs()} ms`);
      expect(await store.getMany(['j0', 'j50000', `j${depth - 1}`])).toEqual([undefined, undefined, undefined]);
      expect(await store.counts()).toMatchObject({ queued: 0, waitingChildren: 0, cancelled: 0 });
    } finally {
      await store.close();
    }
  }, 180_000);
});
