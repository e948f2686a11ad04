import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewJob } from '@scalable-api/core';
import { createRedisStore } from '../src/index.js';
import { canStartRedis, startRedisServer, type PrivateRedis } from './private-redis.js';
import { testPrefix } from './redis-fixture.js';

/**
 * A full Redis (`maxmemory` reached, `noeviction`), for real: a Redis of the test's own with a
 * small `maxmemory`, since the shared one must not be filled.
 */
if (!canStartRedis) console.warn('\n!!! Redis OOM suite SKIPPED: install redis-server to run it. !!!\n');

(canStartRedis ? describe : describe.skip)('createRedisStore when Redis is full', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startRedisServer(['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction']);
  }, 30_000);
  afterAll(() => server?.stop());

  it('refuses a whole batch, keeps what it accepted, and still drains so memory comes back', async () => {
    const prefix = testPrefix();
    const store = createRedisStore({ url: `redis://127.0.0.1:${server.port}`, prefix, retention: { count: 0 } });
    try {
      const padding = 'x'.repeat(2_000);
      const accepted: string[] = [];
      let refused: NewJob[] | undefined;
      for (let batch = 0; batch < 2_000 && !refused; batch++) {
        const jobs = Array.from({ length: 50 }, (_, i) => ({ id: `${batch}-${i}`, name: 'n', input: { padding }, priority: 0 }));
        try {
          await store.enqueue(jobs, { limit: 1_000_000 });
          accepted.push(...jobs.map((j) => j.id));
        } catch (error) {
          // The caller reads a plain message; Redis' own is kept as the cause, for logs.
          expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'The job store is out of memory.' });
          expect(String(((error as Error).cause as Error).message)).toMatch(/^OOM/);
          refused = jobs;
        }
      }
      expect(refused).toBeDefined();
      // Nothing of the refused batch, everything of the accepted ones.
      for (const job of refused!) expect(await store.get(job.id)).toBeUndefined();
      expect((await store.counts()).queued).toBe(accepted.length);

      // Claiming and settling still work while Redis is full, and retention frees the memory.
      for (;;) {
        const { jobs } = await store.claim({ owner: 'me', max: 200, leaseMs: 60_000 });
        if (jobs.length === 0) break;
        expect(await store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: null })))).toEqual(jobs.map(() => 'ok'));
      }
      await store.claim({ owner: 'me', max: 0, leaseMs: 60_000 }); // a last pass of retention
      expect(await store.counts()).toMatchObject({ queued: 0, completed: 0 });
      expect(await store.enqueue(refused!, { limit: 1_000_000 })).toEqual(
        refused!.map((j) => ({ ok: true, id: j.id, created: true, status: 'queued' })),
      );
    } finally {
      await store.close();
    }
  }, 60_000);
});
