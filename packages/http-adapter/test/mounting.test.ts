import { createJobSystem } from '@scalable-api/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, resize } from '../../../examples/quickstart/src/mount-existing-app.js';
import { jobsPlugin } from '../src/index.js';

const apiKey = 'shop-key-0123456789abcdef';
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('jobsPlugin mounted in an existing app (docs/mounting.md)', () => {
  it('serves the jobs under its prefix, problems included, and leaves the app alone', async () => {
    ({ app } = await buildApp({ apiKey }));
    const products = await app.inject({ method: 'GET', url: '/products' });
    expect(products.statusCode).toBe(200);
    expect(products.headers['x-app']).toBe('shop');

    const accepted = await app.inject({
      method: 'POST',
      url: '/api/jobs/resize',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey, prefer: 'wait=5' },
      payload: { url: 'https://example.com/a.png', width: 64 },
    });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.headers.location).toMatch(/^\/api\/jobs\//);
    expect(accepted.json()).toMatchObject({ status: 'completed', output: { width: 64 } });

    // The app's error handler does not reach the plugin's routes, nor the plugin's 404 the app's.
    const invalid = await app.inject({
      method: 'POST',
      url: '/api/jobs/resize',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      payload: { url: 'not a url', width: 1 },
    });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.headers['content-type']).toMatch(/^application\/problem\+json/);
    const appMissing = await app.inject({ method: 'GET', url: '/nothing-here' });
    expect(appMissing.statusCode).toBe(404);
    expect(appMissing.headers['content-type']).not.toMatch(/problem/);

    expect((await app.inject({ method: 'GET', url: '/internal/ready' })).statusCode).toBe(200);
    expect(app.jobs.prefix).toBe('/api/jobs');
  });

  it('drains on close: /ready turns 503 and new jobs are refused', async () => {
    const built = await buildApp({ apiKey });
    app = built.app;
    app.jobs.drain();
    expect((await app.inject({ method: 'GET', url: '/internal/ready' })).statusCode).toBe(503);
    const refused = await app.inject({
      method: 'POST',
      url: '/api/jobs/resize',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      payload: { url: 'https://example.com/a.png', width: 64 },
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().code).toBe('SHUTTING_DOWN');
    await app.close();
    app = undefined;
    expect(built.system.health()).toBe('stopped');
  });

  it('shuts down gracefully in one call: accepted jobs finish, the system stops, the server closes', async () => {
    const built = await buildApp({ apiKey });
    app = built.app;
    const accepted = await app.inject({
      method: 'POST',
      url: '/api/jobs/resize',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      payload: { url: 'https://example.com/a.png', width: 64 },
    });
    expect(accepted.statusCode).toBe(202);
    const first = app.jobs.shutdown(5_000);
    expect(app.jobs.shutdown(5_000)).toBe(first);
    expect(app.jobs.draining).toBe(true);
    await first;
    app = undefined;
    expect(built.system.health()).toBe('stopped');
    expect((await built.system.get(accepted.json().id))?.status).toBe('completed');
  });

  it('answers with full paths when registered inside a prefixed scope', async () => {
    const system = createJobSystem({ jobs: [resize], workers: 1 });
    await system.start();
    app = Fastify();
    app.addHook('onClose', () => system.stop({ drain: false }));
    let scope: FastifyInstance | undefined;
    await app.register(
      async (v1) => {
        await v1.register(jobsPlugin, { system, prefix: '/jobs', ops: false });
        scope = v1;
      },
      { prefix: '/v1' },
    );
    const res = await app.inject({ method: 'POST', url: '/v1/jobs/resize', payload: { url: 'https://example.com/a.png', width: 64 } });
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe(`/v1/jobs/${res.json().id}`);
    expect((await app.inject({ method: 'GET', url: res.headers.location as string })).statusCode).toBe(200);
    const put = await app.inject({ method: 'PUT', url: res.headers.location as string });
    expect(put.statusCode).toBe(405);
    // fastify-plugin shares the decorator with the scope it was registered in, not above.
    expect(scope?.jobs.prefix).toBe('/v1/jobs');
  });
});
