import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { post, setup, type Setup } from './setup.js';

let t: Setup;
afterEach(async () => {
  await t?.close();
});

describe('POST {prefix}/:name', () => {
  it('answers 202 with id, status, durable and Location when the input is valid', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/echo', { hello: 'world' });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ id: expect.any(String), status: 'queued', durable: false });
    expect(res.headers.location).toBe(`/jobs/${body.id}`);
    await expect(t.system.handle(body.id).result()).resolves.toEqual({ hello: 'world' });
  });

  it('answers 200 with the output when the job finishes within Prefer: wait', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/echo', { a: 1 }, { prefer: 'respond-async, wait=10' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'completed', output: { a: 1 }, durable: false });
  });

  it('answers 200 with the error when the job fails within Prefer: wait', async () => {
    t = await setup();
    const res = await t.app.inject({ method: 'POST', url: '/jobs/fail', headers: { prefer: 'wait=10' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'JOB_FAILED' } });
  });

  it('answers 202 when the job is still running after Prefer: wait', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/sleep', { ms: 60_000 }, { prefer: 'wait=1' });
    expect(res.statusCode).toBe(202);
    expect(['queued', 'running']).toContain(res.json().status);
  });

  it('answers 422 INPUT_INVALID with the issues when the input fails the schema', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/sleep', { ms: 'soon' });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({ code: 'INPUT_INVALID', status: 422, instance: '/jobs/sleep', title: expect.any(String) });
    expect(problem.issues[0].path).toEqual(['ms']);
    expect((await t.system.stats()).submitted).toBe(0);
  });

  it('answers 404 JOB_TYPE_UNKNOWN for a job that is not registered', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/nope', {});
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('JOB_TYPE_UNKNOWN');
  });

  it('returns the same job for the same Idempotency-Key and body', async () => {
    t = await setup();
    const first = await post(t.app, '/jobs/echo', { n: 1 }, { 'idempotency-key': 'order-1' });
    const second = await post(t.app, '/jobs/echo', { n: 1 }, { 'idempotency-key': 'order-1' });
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json().id).toBe(first.json().id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect((await t.system.stats()).submitted).toBe(1);
  });

  it('answers 422 IDEMPOTENCY_CONFLICT when the key is reused with another body', async () => {
    t = await setup();
    await post(t.app, '/jobs/echo', { n: 1 }, { 'idempotency-key': 'order-2' });
    const res = await post(t.app, '/jobs/echo', { n: 2 }, { 'idempotency-key': 'order-2' });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('answers 409 IDEMPOTENCY_IN_FLIGHT while the first request with the key is still being accepted', async () => {
    t = await setup();
    const upload = new PassThrough();
    const first = t.app.inject({
      method: 'POST',
      url: '/jobs/digest',
      headers: { 'content-type': 'application/octet-stream', 'idempotency-key': 'upload-1' },
      payload: upload,
    });
    upload.write(Buffer.alloc(1024, 1));
    // The first upload is open; wait until its key is registered by observing a 409.
    let second = await post(t.app, '/jobs/echo', {}, { 'idempotency-key': 'upload-1' });
    for (let i = 0; i < 50 && second.statusCode !== 409; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      second = await post(t.app, '/jobs/echo', {}, { 'idempotency-key': 'upload-1' });
    }
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('IDEMPOTENCY_IN_FLIGHT');
    upload.end(Buffer.alloc(1024, 2));
    const done = await first;
    expect(done.statusCode).toBe(202);
    await expect(t.system.handle(done.json().id).result()).resolves.toMatchObject({ bytes: 2048 });
  });

  it('answers 400 for a malformed Idempotency-Key', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/echo', {}, { 'idempotency-key': 'x'.repeat(300) });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('MALFORMED_REQUEST');
  });

  it('answers 503 QUEUE_FULL with Retry-After when the queue is at its bound, and /ready turns 503', async () => {
    t = await setup({ system: { workers: 1, queue: { limit: 1 } } });
    const running = await post(t.app, '/jobs/sleep', { ms: 60_000 });
    expect(running.statusCode).toBe(202);
    // Wait for the worker to take it, so the next one sits in the queue.
    await expect.poll(async () => (await t.system.get(running.json().id))?.status, { timeout: 15_000 }).toBe('running');
    expect((await post(t.app, '/jobs/sleep', { ms: 1 })).statusCode).toBe(202);
    const full = await post(t.app, '/jobs/sleep', { ms: 1 });
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('1');
    expect(full.json()).toMatchObject({ code: 'QUEUE_FULL', retryAfter: 1 });
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().code).toBe('NOT_READY');
  });

  it('answers 503 SHUTTING_DOWN once the edge drains, without reading the body', async () => {
    t = await setup();
    t.app.jobs.drain();
    const res = await post(t.app, '/jobs/echo', {});
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('SHUTTING_DOWN');
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('answers 503 SHUTTING_DOWN once the system is stopping', async () => {
    t = await setup();
    await t.system.stop({ drain: false });
    const res = await post(t.app, '/jobs/echo', {});
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('SHUTTING_DOWN');
  });

  it('answers 503 NOT_STARTED before the system starts', async () => {
    t = await setup({ start: false });
    const res = await post(t.app, '/jobs/echo', {});
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('NOT_STARTED');
  });

  it('answers 503 STORE_UNAVAILABLE when the store cannot take the job', async () => {
    t = await setup();
    await t.system.store.close();
    const res = await post(t.app, '/jobs/echo', {});
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('STORE_UNAVAILABLE');
  });

  it('answers 503 UNHEALTHY once workers crashed past the restart intensity', async () => {
    t = await setup({ system: { workers: 1, restartIntensity: { maxRestarts: 0, withinMs: 60_000 } } });
    const res = await post(t.app, '/jobs/sleep', { ms: 50 });
    await expect.poll(async () => (await t.system.get(res.json().id))?.status, { timeout: 15_000 }).toBe('running');
    // A store that fails under a running job is a real fault: its settlement cannot be recorded,
    // so the worker crashes, and with no restarts allowed the system turns unhealthy.
    await t.system.store.close();
    await expect.poll(() => t.system.health(), { timeout: 15_000 }).toBe('unhealthy');
    const refused = await post(t.app, '/jobs/echo', {});
    expect(refused.statusCode).toBe(503);
    expect(refused.json().code).toBe('UNHEALTHY');
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json().code).toBe('UNHEALTHY');
  });
});
