import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createRedisStore } from '../src/index.js';
import { createdAtOf } from '../src/job-birth.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

const T = 1_700_000_000_000;

it('createdAtOf reads the created at of a birth, or a created at on its own', () => {
  expect(createdAtOf(`${T}\t12`)).toBe(T);
  expect(createdAtOf(String(T))).toBe(T);
});

// A store written by a version of the library before births (lua/context.lua) is read as it is:
// its jobs keep ca and cs as fields of their own, and every reader takes either form. So an
// upgrade needs no drain; the jobs below are written as that version wrote them.
await describeWithRedis('jobs created before births', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('are read, listed, claimed, settled and dropped by retention like new ones', async () => {
    const prefix = testPrefix();
    const raw = new Redis(redisUrl);
    cleanups.push(async () => void (await raw.quit()));
    cleanups.push(() => deletePrefix(prefix));
    const base = `{${prefix}}:`;
    // Two queued jobs as the previous enqueue left them: hash, ready-queue entry, counts, names.
    await raw.hset(`${base}j:old-1`, { n: 'n', s: 'queued', ca: String(T), i: '{"a":1}', cs: '1' });
    await raw.hset(`${base}j:old-2`, { n: 'n', s: 'queued', ca: String(T + 1), cs: '2' });
    await raw.rpush(`${base}q:n`, '1:old-1', '2:old-2');
    await raw.hset(`${base}counts`, { queued: '2', seq: '2' });
    await raw.sadd(`${base}names`, 'n');

    const store = createRedisStore({ url: redisUrl, prefix, retention: { count: 1 } });
    cleanups.push(() => store.close());
    await store.enqueue([{ id: 'new-1', name: 'n', input: { b: 2 }, priority: 0 }], { limit: 100 });

    expect(await store.get('old-1')).toMatchObject({ id: 'old-1', status: 'queued', input: { a: 1 }, createdAt: T });
    expect(await store.get('old-2')).toMatchObject({ input: undefined, createdAt: T + 1 });
    expect((await store.events('old-1', 0)).map((e) => [e.type, e.at])).toEqual([['job.queued', T]]);
    // The listing index is built from `cs` and births alike, in creation order.
    expect((await store.list({ limit: 10 })).jobs.map((j) => j.id)).toEqual(['old-1', 'old-2', 'new-1']);
    expect((await store.list({ limit: 10, since: T + 1 })).jobs.map((j) => j.id)).toEqual(['old-2', 'new-1']);

    const { jobs } = await store.claim({ owner: 'node-1', max: 3, leaseMs: 30_000 });
    expect(jobs.map((j) => [j.id, j.input, j.createdAt])).toEqual([
      ['old-1', { a: 1 }, T],
      ['old-2', undefined, T + 1],
      ['new-1', { b: 2 }, expect.any(Number)],
    ]);
    expect(await store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: { ok: j.id } })))).toEqual(['ok', 'ok', 'ok']);
    // Retention keeps one finished root: the two old jobs left the store and its listing.
    expect(await store.getMany(['old-1', 'old-2', 'new-1'])).toMatchObject([undefined, undefined, { status: 'completed' }]);
    expect((await store.list({ limit: 10 })).jobs.map((j) => j.id)).toEqual(['new-1']);
  });
});
