import { afterEach, describe, expect, it } from 'vitest';
import { post, setup, type Setup } from './setup.js';

let t: Setup | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const retry = (id: string, headers: Record<string, string> = {}) =>
  t!.app.inject({ method: 'POST', url: `/jobs/dashboard/api/jobs/${id}/retry`, headers: { 'x-dashboard': '1', ...headers } });

describe('dashboard retry', () => {
  it('gives a retried upload its own blob reference: it runs after the original left retention', async () => {
    t = await setup({ system: { workers: 2, retention: { count: 1 } }, plugin: { dashboard: true } });
    const bytes = Buffer.alloc(64 * 1024, 7);
    const upload = await t.app.inject({ method: 'POST', url: '/jobs/digest', headers: { 'content-type': 'image/png' }, payload: bytes });
    const original = upload.json<{ id: string }>().id;
    const digest = await t.system.handle<{ sha256: string; bytes: number }>(original).result();

    // Both workers busy: the retry waits in the queue, behind a short job, while the original
    // leaves retention (a second finished root pushes it out of a retention of one).
    const blockers = [];
    for (let i = 0; i < 2; i++) blockers.push((await post(t.app, '/jobs/sleep', { ms: 60_000 })).json<{ id: string }>().id);
    for (const id of blockers) await expect.poll(async () => (await t!.system.get(id))?.status, { timeout: 10_000 }).toBe('running');
    await post(t.app, '/jobs/sleep', { ms: 300 });
    const retried = await retry(original);
    expect(retried.statusCode).toBe(202);
    const copy = retried.json<{ id: string; retryOf: string }>();
    expect(copy.retryOf).toBe(original);
    await t.app.inject({ method: 'DELETE', url: `/jobs/${blockers[0]}` });
    await expect.poll(async () => t!.system.get(original), { timeout: 10_000 }).toBeUndefined();

    expect(await t.system.handle(copy.id).result()).toEqual(digest);
    const record = await t.system.get(copy.id);
    expect(record?.meta?.['blob']).toBeDefined();
    expect((record?.input as { blob: { id: string } }).blob.id).toBe(record?.meta?.['blob']);
    await t.app.inject({ method: 'DELETE', url: `/jobs/${blockers[1]}` });
  });

  it('is refused while the node drains, and carries the trace context', async () => {
    t = await setup({ plugin: { dashboard: true } });
    const { id } = (await post(t.app, '/jobs/echo', { a: 1 }, { traceparent })).json<{ id: string }>();
    await t.system.handle(id).result();
    // The original's trace when the request has none; the request's own when it has one.
    const plain = (await retry(id)).json<{ id: string }>().id;
    expect((await t.system.get(plain))?.meta?.['traceparent']).toBe(traceparent);
    const other = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const traced = (await retry(id, { traceparent: other })).json<{ id: string }>().id;
    expect((await t.system.get(traced))?.meta?.['traceparent']).toBe(other);

    t.app.jobs.drain();
    const refused = await retry(id);
    expect(refused.statusCode).toBe(503);
    expect(refused.json().code).toBe('SHUTTING_DOWN');
  });
});
