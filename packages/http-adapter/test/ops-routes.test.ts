import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, sample } from './exposition.js';
import { post, setup, type Setup } from './setup.js';

let t: Setup;
afterEach(async () => {
  await t?.close();
});

describe('GET /health and /ready', () => {
  it('answer 200 while the system takes work', async () => {
    t = await setup();
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok', health: 'healthy' });
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
  });

  it('/ready answers 503 NOT_READY with Retry-After once the edge drains, /health stays 200', async () => {
    t = await setup();
    t.app.jobs.drain();
    expect(t.app.jobs.draining).toBe(true);
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['retry-after']).toBe('1');
    expect(ready.json()).toMatchObject({ code: 'NOT_READY', detail: expect.stringContaining('Shutting down') });
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('/ready answers 503 before the system starts and after it stops', async () => {
    t = await setup({ start: false });
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    await t.system.start();
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    await t.system.stop();
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
  });

  it('can live under another prefix or be left out', async () => {
    t = await setup({ plugin: { ops: { prefix: '/_' } } });
    expect((await t.app.inject({ method: 'GET', url: '/_/ready' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(404);
    await t.close();
    t = await setup({ plugin: { ops: false } });
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
  });
});

describe('routing problems next to the ops routes', () => {
  it('answer another method on /health, /ready, /metrics with 405 and Allow, as problems', async () => {
    t = await setup();
    for (const path of ['/health', '/ready', '/metrics'])
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'QUERY'] as const) {
        const res = await t.app.inject({ method: method as 'GET', url: path });
        expect(res.statusCode, `${method} ${path}`).toBe(405);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.headers.allow).toBe('GET, HEAD');
        expect(res.json().code).toBe('METHOD_NOT_ALLOWED');
      }
  });

  it('answer unknown paths below them, and anything under an ops prefix of their own, with a 404 problem', async () => {
    t = await setup();
    const below = await t.app.inject({ method: 'GET', url: '/metrics/extra' });
    expect(below.statusCode).toBe(404);
    expect(below.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(below.json().code).toBe('ROUTE_NOT_FOUND');
    await t.close();
    t = await setup({ plugin: { ops: { prefix: '/_' } } });
    const other = await t.app.inject({ method: 'GET', url: '/_/healthz' });
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe('ROUTE_NOT_FOUND');
    expect((await t.app.inject({ method: 'DELETE', url: '/_/ready' })).statusCode).toBe(405);
  });
});

describe('GET /metrics', () => {
  it('exposes job counters, queue depth, wait and run histograms and HTTP statuses as Prometheus text', async () => {
    t = await setup();
    const { id } = (await post(t.app, '/jobs/echo', {})).json();
    await t.system.handle(id).result();
    await post(t.app, '/jobs/sleep', { ms: -1 });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    // A text-format parser reads every line (it throws on one that is not the format).
    const families = parseExposition(res.body);
    const type = (name: string) => families.get(name)?.type;
    expect(sample(families, 'scalable_api_jobs_submitted_total')).toBe(1);
    // Restarts only go up: a counter, so rate() and increase() work on it.
    expect(type('scalable_api_worker_restarts')).toBe('COUNTER');
    expect(sample(families, 'scalable_api_jobs_completed_total')).toBe(1);
    expect(sample(families, 'scalable_api_jobs_rejected_total')).toBe(1);
    expect(sample(families, 'scalable_api_jobs_queued')).toBe(0);
    expect(type('scalable_api_jobs_queued')).toBe('GAUGE');
    for (const name of ['scalable_api_job_wait_seconds', 'scalable_api_job_run_seconds']) {
      expect(type(name)).toBe('HISTOGRAM');
      const [histogram] = families.get(name)!.metrics;
      expect(histogram).toMatchObject({ count: '1', buckets: expect.objectContaining({ '300': '1' }) });
    }
    expect(sample(families, 'scalable_api_http_responses_total', { method: 'POST', route: '/jobs/echo', status: '202' })).toBe(1);
    expect(sample(families, 'scalable_api_http_responses_total', { method: 'POST', route: '/jobs/sleep', status: '422' })).toBe(1);
    expect(sample(families, 'scalable_api_http_problems_total', { code: 'INPUT_INVALID' })).toBe(1);
    // Counters follow the convention (prom-client would not let a counter go down).
    for (const [name, family] of families) if (family.type === 'COUNTER' && name !== 'scalable_api_worker_restarts') expect(name).toMatch(/_total$/);
  });
});
