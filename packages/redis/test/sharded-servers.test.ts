import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClaimedJob, NewJob } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { runStoreConformance } from '@scalable-api/core/testing/conformance';
import { createRedisStore, type ShardedRedisStore } from '../src/index.js';
import { testPrefix, redisCapabilities } from './redis-fixture.js';
import { describeWithServers, startShardServers, type ShardServer } from './shard-servers.js';
import { deleteShardedPrefix, shardedExempt } from './sharded-fixture.js';

describeWithServers('createRedisStore({ shards: [url, url, url] }) on three redis-server processes', () => {
  let servers: ShardServer[] = [];
  const urls = () => servers.map((s) => s.url);

  beforeAll(async () => {
    servers = await startShardServers(3);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  runStoreConformance(
    'createRedisStore({ shards: three servers })',
    (options) => {
      const clock = new SimulatedClock();
      const prefix = testPrefix();
      const store = createRedisStore({ shards: urls(), prefix, clock, ...options });
      return {
        store,
        clock,
        supports: redisCapabilities,
        cleanup: () => deleteShardedPrefix(prefix, urls()),
      };
    },
    shardedExempt,
  );

  const job = (id: string): NewJob => ({ id, name: 'n', input: {}, priority: 0 });

  it('keeps the other shards running while one shard’s Redis is down, and completes that shard’s jobs once it is back', async () => {
    const prefix = testPrefix();
    const store: ShardedRedisStore = createRedisStore({ shards: urls(), prefix });
    const complete = (jobs: ClaimedJob[]) => store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: null })));
    try {
      store.subscribe(() => {});
      const ids = [0, 1, 2].map((shard) => Array.from({ length: 10 }, () => store.router.idIn(shard)));
      expect((await store.enqueue(ids.flat().map(job), { limit: 1_000 })).every((o) => o.ok)).toBe(true);
      // When the crash comes, half of each shard's jobs are running and half are queued.
      const claimed = (await store.claim({ owner: 'a', max: 30, leaseMs: 60_000 })).jobs;
      expect(claimed).toHaveLength(30);
      const back = claimed.filter((_, i) => i % 2 === 0);
      await store.settle(back.map((j) => ({ ...j, outcome: 'released' as const })));
      const running = claimed.filter((_, i) => i % 2 === 1);
      const onShard = (shard: number) => (j: ClaimedJob) => store.router.shardOf(j.id) === shard;

      expect(await store.counts()).toMatchObject({ queued: 15, running: 15 });

      await servers[1]!.crash();

      // Shard 1's jobs: unavailable, with the code the HTTP edge answers 503 for.
      const started = performance.now();
      await expect(store.get(ids[1]![0]!)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(store.cancel(ids[1]![1]!)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      console.info(`jobs on the dead shard answered STORE_UNAVAILABLE after ${Math.round(performance.now() - started)} ms (two calls)`);
      // A batch over all three shards: only the dead shard's part is refused.
      const mixed = [0, 1, 2].map((shard) => job(store.router.idIn(shard)));
      expect((await store.enqueue(mixed, { limit: 1_000 })).map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'STORE_UNAVAILABLE', 'ok']);
      // New jobs free to go anywhere go elsewhere meanwhile.
      for (let tick = 0; tick < 6; tick++) {
        expect(store.router.shardOf(store.newId({}))).not.toBe(1);
        await Promise.resolve();
      }
      // Renewals answer for the live shards; the dead shard's attempts hear nothing and go on.
      expect((await store.renew(running, 60_000)).every((r) => r.held)).toBe(true);
      expect(await store.counts()).toMatchObject({ running: 15 });

      // The other shards keep completing: their running jobs, their queued ones, the new ones.
      expect(await complete(running.filter((j) => !onShard(1)(j)))).toEqual(Array(10).fill('ok'));
      const more = (await store.claim({ owner: 'a', max: 30, leaseMs: 60_000 })).jobs;
      expect(more.map((j) => store.router.shardOf(j.id)).sort()).toEqual([0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2]);
      expect(await complete(more)).toEqual(Array(12).fill('ok'));
      expect(await store.counts()).toMatchObject({ completed: 22 });

      await servers[1]!.restart();

      // Back with its AOF: every job it had accepted is there, and runs to completion.
      await expect.poll(() => store.get(ids[1]![0]!).catch(() => undefined), { timeout: 10_000 }).toMatchObject({ status: 'queued' });
      expect(await complete(running.filter(onShard(1)))).toEqual(Array(5).fill('ok'));
      let rest: ClaimedJob[] = [];
      await expect
        .poll(async () => (rest = rest.concat((await store.claim({ owner: 'b', max: 30, leaseMs: 60_000 })).jobs)).length, { timeout: 10_000 })
        .toBe(5);
      expect(await complete(rest)).toEqual(Array(5).fill('ok'));
      for (const id of [...ids.flat(), mixed[0]!.id, mixed[2]!.id]) expect(await store.get(id)).toMatchObject({ status: 'completed' });
      expect(await store.counts()).toMatchObject({ queued: 0, running: 0, completed: 32 });
    } finally {
      await store.close();
      // A failure above may have left the server down; the cleanup needs it.
      if (
        !(await servers[1]!.commandCalls().then(
          () => true,
          () => false,
        ))
      )
        await servers[1]!.restart();
      await deleteShardedPrefix(prefix, urls());
    }
  });
});
