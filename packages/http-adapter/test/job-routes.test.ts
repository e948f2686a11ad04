import { afterEach, describe, expect, it } from 'vitest';
import { post, setup, type Setup } from './setup.js';

let t: Setup;
afterEach(async () => {
  await t?.close();
});

describe('GET {prefix}/:id', () => {
  it('shows status, attempts, timestamps and the output once the job completed', async () => {
    t = await setup();
    const { id } = (await post(t.app, '/jobs/echo', { x: 1 })).json();
    await t.system.handle(id).result();
    const res = await t.app.inject({ method: 'GET', url: `/jobs/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const job = res.json();
    expect(job).toMatchObject({ id, name: 'echo', status: 'completed', attempt: 1, output: { x: 1 }, parentId: null, rootId: id });
    expect(new Date(job.createdAt).getTime()).toBeGreaterThan(0);
    expect(new Date(job.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(job.createdAt).getTime());
    expect(job.children).toEqual({ total: 0, pending: 0 });
    expect(job).not.toHaveProperty('meta');
  });

  it('shows the error of a failed job', async () => {
    t = await setup();
    const { id } = (await t.app.inject({ method: 'POST', url: '/jobs/fail' })).json();
    await t.system
      .handle(id)
      .result()
      .catch(() => {});
    const job = (await t.app.inject({ method: 'GET', url: `/jobs/${id}` })).json();
    expect(job).toMatchObject({ status: 'failed', error: { code: 'JOB_FAILED' } });
    expect(job).not.toHaveProperty('output');
  });

  it('answers 404 JOB_NOT_FOUND for an unknown id and for ids that cannot be job ids', async () => {
    t = await setup();
    for (const url of ['/jobs/V1StGXR8_Z5jdHi6B-myT', `/jobs/${'a'.repeat(90)}`, '/jobs/%E2%98%83', '/jobs/..%2F..%2Fetc']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });
});

describe('GET {prefix}/:id/tree', () => {
  it('shows the whole tree with the children of a parent', async () => {
    t = await setup();
    const { id } = (await post(t.app, '/jobs/parent', { width: 3, ms: 0 })).json();
    await t.system.handle(id).result();
    const res = await t.app.inject({ method: 'GET', url: `/jobs/${id}/tree` });
    expect(res.statusCode).toBe(200);
    const tree = res.json();
    expect(tree).toMatchObject({ id, name: 'parent', status: 'completed', output: { children: 3 } });
    expect(tree.children).toHaveLength(3);
    for (const child of tree.children) expect(child).toMatchObject({ name: 'sleep', status: 'completed', children: [] });
  });

  it('answers 404 for an unknown id', async () => {
    t = await setup();
    const res = await t.app.inject({ method: 'GET', url: '/jobs/V1StGXR8_Z5jdHi6B-myT/tree' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('JOB_NOT_FOUND');
  });
});

describe('DELETE {prefix}/:id', () => {
  it('cancels a queued job at once', async () => {
    t = await setup({ system: { workers: 1 } });
    const blocker = (await post(t.app, '/jobs/sleep', { ms: 60_000 })).json().id;
    await expect.poll(async () => (await t.system.get(blocker))?.status, { timeout: 15_000 }).toBe('running');
    const { id } = (await post(t.app, '/jobs/sleep', { ms: 1 })).json();
    const res = await t.app.inject({ method: 'DELETE', url: `/jobs/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id, outcome: 'cancelled', status: 'cancelled' });
  });

  it('cancels a running parent and cascades to its children', async () => {
    t = await setup();
    const { id } = (await post(t.app, '/jobs/parent', { width: 2, ms: 60_000 })).json();
    await expect.poll(async () => (await t.system.get(id))?.pendingChildren, { timeout: 15_000 }).toBe(2);
    const res = await t.app.inject({ method: 'DELETE', url: `/jobs/${id}` });
    expect([200, 202]).toContain(res.statusCode);
    await expect(t.system.handle(id).result()).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    const tree = (await t.app.inject({ method: 'GET', url: `/jobs/${id}/tree` })).json();
    expect(tree.status).toBe('cancelled');
    await expect
      .poll(async () => (await t.app.inject({ method: 'GET', url: `/jobs/${id}/tree` })).json().children.map((c: { status: string }) => c.status), {
        timeout: 15_000,
      })
      .toEqual(['cancelled', 'cancelled']);
  });

  it('answers 202 cancelling with the status it had for a running job, as the Redis store does (not a racing re-read)', async () => {
    t = await setup();
    const { id } = (await post(t.app, '/jobs/sleep', { ms: 60_000 })).json();
    await expect.poll(async () => (await t.system.get(id))?.status, { timeout: 15_000 }).toBe('running');
    const res = await t.app.inject({ method: 'DELETE', url: `/jobs/${id}` });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id, outcome: 'cancelling', status: 'running' });
    await expect(t.system.handle(id).result()).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
  });

  it('answers 200 with outcome settled for a job that already finished', async () => {
    t = await setup();
    const { id } = (await post(t.app, '/jobs/echo', {})).json();
    await t.system.handle(id).result();
    const res = await t.app.inject({ method: 'DELETE', url: `/jobs/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id, outcome: 'settled', status: 'completed' });
  });

  it('answers 404 for an unknown id', async () => {
    t = await setup();
    const res = await t.app.inject({ method: 'DELETE', url: '/jobs/V1StGXR8_Z5jdHi6B-myT' });
    expect(res.statusCode).toBe(404);
  });
});

describe('routing problems', () => {
  it('answers 405 with Allow for a known path and another method, 404 ROUTE_NOT_FOUND for an unknown path', async () => {
    t = await setup();
    const put = await t.app.inject({ method: 'PUT', url: '/jobs/V1StGXR8_Z5jdHi6B-myT' });
    expect(put.statusCode).toBe(405);
    expect(put.json().code).toBe('METHOD_NOT_ALLOWED');
    expect(put.headers.allow).toBe('GET, POST, DELETE');
    const deep = await t.app.inject({ method: 'GET', url: '/jobs/a/b/c/d' });
    expect(deep.statusCode).toBe(404);
    expect(deep.json().code).toBe('ROUTE_NOT_FOUND');
  });

  it('answers 405 with Allow for an unknown method such as QUERY without a Content-Type, not 400', async () => {
    t = await setup();
    const { id } = (await post(t.app, '/jobs/echo', {})).json();
    for (const url of [`/jobs/${id}`, `/jobs/${id}/events`, '/jobs/echo']) {
      const query = await t.app.inject({ method: 'QUERY' as 'GET', url });
      expect(query.statusCode, url).toBe(405);
      expect(query.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(query.json().code).toBe('METHOD_NOT_ALLOWED');
      expect(query.headers.allow).toBeDefined();
    }
    expect((await t.app.inject({ method: 'QUERY' as 'GET', url: '/jobs/a/b/c' })).json().code).toBe('ROUTE_NOT_FOUND');
  });
});
