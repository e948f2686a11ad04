import type { JobStore } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { post, setup, type Setup, type SetupOptions } from './setup.js';

const keyA = 'list-route-key-a-0123456789';
const keyB = 'list-route-key-b-0123456789';
const auth = {
  keys: [
    { key: keyA, tenant: 'a' },
    { key: keyB, tenant: 'b' },
  ],
};

let t: Setup | undefined;
let prefix: string | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  if (prefix) await deletePrefix(prefix);
  prefix = undefined;
});

/** Every page of a listing, following the cursors; bounded so that a walk that never ends fails. */
async function walk(app: Setup['app'], query: string, headers: Record<string, string> = {}) {
  const pages: { jobs: { id: string; name: string; status: string }[]; cursor?: string }[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 100; n++) {
    const res = await app.inject({ method: 'GET', url: `/jobs?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    pages.push(res.json());
    cursor = res.json().cursor;
    if (cursor === undefined) return pages;
  }
  throw new Error('the listing did not end within 100 pages');
}

function cases(open: (options: SetupOptions) => Promise<Setup>) {
  it('walks every job once, in submission order, page after page with the cursor', async () => {
    t = await open({ system: { workers: 0 } });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await post(t.app, '/jobs/echo', { i })).json().id);
    const pages = await walk(t.app, 'limit=5');
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((p) => p.jobs.length <= 5)).toBe(true);
    expect(pages.flatMap((p) => p.jobs.map((j) => j.id))).toEqual(ids);
    expect(pages[0]!.jobs[0]).toMatchObject({ id: ids[0], name: 'echo', status: 'queued', attempt: 0, children: { total: 0, pending: 0 } });
    expect(pages[0]!.jobs[0]).not.toHaveProperty('meta');
  });

  it('filters by status, name and creation time', async () => {
    t = await open({ system: { workers: 0 } });
    const sleep = (await post(t.app, '/jobs/sleep', { ms: 1 })).json().id;
    const echo = (await post(t.app, '/jobs/echo', {})).json().id;
    await t.app.inject({ method: 'DELETE', url: `/jobs/${echo}` });
    const ids = async (query: string) => (await walk(t!.app, query)).flatMap((p) => p.jobs.map((j) => j.id));
    expect(await ids('name=sleep')).toEqual([sleep]);
    expect(await ids('status=cancelled')).toEqual([echo]);
    expect(await ids('status=queued&name=echo')).toEqual([]);
    expect(await ids(`since=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
    expect(await ids(`since=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`)).toEqual([sleep, echo]);
  });

  it("lists only the caller's tenant's jobs, as GET /:id shows only those", async () => {
    t = await open({ system: { workers: 0 }, plugin: { auth } });
    const a = (await post(t.app, '/jobs/echo', {}, { 'x-api-key': keyA })).json().id;
    const b = (await post(t.app, '/jobs/echo', {}, { 'x-api-key': keyB })).json().id;
    await t.system.submitByName('echo', {}); // from code, without a tenant: no key sees it
    const ids = async (key: string) => (await walk(t!.app, 'limit=1', { 'x-api-key': key })).flatMap((p) => p.jobs.map((j) => j.id));
    expect(await ids(keyA)).toEqual([a]);
    expect(await ids(keyB)).toEqual([b]);
    expect((await t.app.inject({ method: 'GET', url: '/jobs' })).statusCode).toBe(401);
  });

  it('answers a bad cursor with 400 CURSOR_INVALID and a bad filter or limit with 400, as problems', async () => {
    t = await open({});
    const bad = await t.app.inject({ method: 'GET', url: '/jobs?cursor=not-a-cursor' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(bad.json()).toMatchObject({ code: 'CURSOR_INVALID', status: 400 });
    for (const query of ['status=done', 'limit=0', 'limit=1001', 'limit=ten', 'since=yesterday', 'name=']) {
      const res = await t.app.inject({ method: 'GET', url: `/jobs?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type'], query).toMatch(/^application\/problem\+json/);
    }
  });
}

describe('GET {prefix} on the memory store', () => {
  cases((options) => setup(options));
});

await describeWithRedis('GET {prefix} on the Redis store', () => {
  cases((options) => {
    prefix = testPrefix();
    const store: JobStore = createRedisStore({ url: redisUrl, prefix });
    return setup({ ...options, system: { ...options.system, store } });
  });
});
