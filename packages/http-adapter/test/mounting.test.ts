import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../examples/quickstart/src/mount-existing-app.js';

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
});
