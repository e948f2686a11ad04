import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { JobRecord, ListQuery, NewJob } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

/** What the shared conformance cases do not reach: the Redis store's bounds, seek and cursor. */
await describeWithRedis('RedisStore list', () => {
  const opened: { store: RedisStore; prefix: string }[] = [];
  const admin = new Redis(redisUrl);
  afterAll(() => admin.quit());
  afterEach(async () => {
    for (const { store, prefix } of opened.splice(0)) {
      await store.close();
      await deletePrefix(prefix);
    }
  });
  function open(retention?: { count: number }) {
    const prefix = testPrefix();
    const clock = new SimulatedClock();
    const store = createRedisStore({ url: redisUrl, prefix, clock, ...(retention ? { retention } : {}) });
    opened.push({ store, prefix });
    return { store, clock, prefix };
  }
  const job = (id: string, extra: Partial<NewJob> = {}): NewJob => ({ id, name: 'n', input: null, priority: 0, ...extra });

  it('examines a bounded number of jobs per call: a filter that matches none of 12,000 answers empty pages with a cursor', async () => {
    const { store } = open();
    for (let i = 0; i < 12_000; i += 1_000) {
      await store.enqueue(
        Array.from({ length: 1_000 }, (_, k) => job(`j${i + k}`)),
        { limit: 100_000 },
      );
    }
    const first = await store.list({ status: 'failed', limit: 10 });
    expect(first).toEqual({ jobs: [], cursor: expect.any(String) });
    const second = await store.list({ status: 'failed', limit: 10, cursor: first.cursor });
    expect(second).toEqual({ jobs: [] });
    // The cursor holds the place the bounded scan reached: a little short of 10,000 jobs (the
    // buckets of the index count too), and the walk goes on from there.
    const next = (await store.list({ limit: 5, cursor: first.cursor })).jobs.map((r) => Number(r.id.slice(1)));
    expect(next[0]).toBeGreaterThan(9_800);
    expect(next).toEqual([0, 1, 2, 3, 4].map((i) => next[0]! + i));
  });

  it('starts a listing by creation time at the first job created then, whatever came before', async () => {
    const { store, clock } = open();
    await store.enqueue(
      Array.from({ length: 300 }, (_, i) => job(`old${i}`)),
      { limit: 1_000 },
    );
    await clock.advance(1_000);
    const since = clock.now();
    await store.enqueue([job('new0', { runAt: since + 5_000 }), job('new1', { priority: 3 }), job('new2')], { limit: 1_000 });
    expect((await walk(store, { since, limit: 2 })).map((r) => r.id)).toEqual(['new0', 'new1', 'new2']);
    expect((await walk(store, { since: since + 1, limit: 2 })).map((r) => r.id)).toEqual([]);
  });

  it('takes the tenant from the meta it decodes, not from text that looks like it', async () => {
    const { store } = open();
    await store.enqueue(
      [job('a', { meta: { note: '"tenant":"t1"', tenant: 't2' } }), job('b', { meta: { tenant: 't1' } }), job('c', { meta: { tenant: 't1x' } })],
      { limit: 10 },
    );
    expect((await store.list({ tenant: 't1', limit: 10 })).jobs.map((r) => r.id)).toEqual(['b']);
    expect((await store.list({ tenant: 't2', limit: 10 })).jobs.map((r) => r.id)).toEqual(['a']);
  });

  it('makes the index on the first listing, and leaves nothing of it behind once retention dropped every job', async () => {
    const { store, prefix } = open({ count: 0 });
    await store.enqueue(
      Array.from({ length: 300 }, (_, i) => job(`j${i}`)),
      { limit: 1_000 },
    );
    // SCAN, not KEYS: the Redis is shared. The index's keys (`l:<n>`, `listing`), not the leases.
    const keys = async () => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await admin.scan(cursor, 'MATCH', `{${prefix}}:l[:i]*`, 'COUNT', 1_000);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      return [...new Set(found)].sort();
    };
    // Nobody listed the store yet: no index.
    expect(await keys()).toEqual([]);
    expect((await store.list({ limit: 1 })).jobs.map((r) => r.id)).toEqual(['j0']);
    await store.enqueue(
      Array.from({ length: 300 }, (_, i) => job(`j${300 + i}`)),
      { limit: 1_000 },
    );
    expect((await walk(store, { limit: 1_000 })).map((r) => r.id)).toEqual(Array.from({ length: 600 }, (_, i) => `j${i}`));
    expect(await keys()).toEqual([
      `{${prefix}}:l:0`,
      `{${prefix}}:l:1`,
      `{${prefix}}:l:2`,
      `{${prefix}}:l:3`,
      `{${prefix}}:l:4`,
      `{${prefix}}:listing`,
    ]);
    for (;;) {
      const { jobs } = await store.claim({ owner: 'node', max: 250, leaseMs: 1_000 });
      if (jobs.length === 0) break;
      await store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: null })));
    }
    expect(await store.list({ limit: 10 })).toEqual({ jobs: [] });
    expect(await keys()).toEqual([]);
  });

  it('refuses a cursor of another store with CURSOR_INVALID', async () => {
    const { store } = open();
    for (const cursor of ['m.1', 'r.', 'r.zzzzzzzzzzz', 'r.1 ', '']) {
      await expect(store.list({ limit: 1, cursor })).rejects.toMatchObject({ code: 'CURSOR_INVALID' });
    }
  });
});

async function walk(store: RedisStore, query: ListQuery): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 100; n++) {
    const page = await store.list({ ...query, cursor });
    out.push(...page.jobs);
    if (page.cursor === undefined) return out;
    cursor = page.cursor;
  }
  throw new Error('the listing did not end within 100 pages');
}
