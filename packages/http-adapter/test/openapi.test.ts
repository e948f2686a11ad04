import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Setup } from './setup.js';

let t: Setup;
afterEach(async () => {
  await t?.close();
});

describe('GET {prefix}/openapi.json', () => {
  it("documents every route, one submit operation per job with the job's input schema", async () => {
    t = await setup();
    const res = await t.app.inject({ method: 'GET', url: '/jobs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/health',
        '/jobs',
        '/jobs/brood',
        '/jobs/brood/batch',
        '/jobs/chatty',
        '/jobs/chatty/batch',
        '/jobs/digest',
        '/jobs/digest/batch',
        '/jobs/echo',
        '/jobs/echo/batch',
        '/jobs/fail',
        '/jobs/fail/batch',
        '/jobs/flow',
        '/jobs/openapi.json',
        '/jobs/parent',
        '/jobs/parent/batch',
        '/jobs/paused',
        '/jobs/paused/{name}',
        '/jobs/schedules',
        '/jobs/schedules/{key}',
        '/jobs/sleep',
        '/jobs/sleep/batch',
        '/jobs/slow',
        '/jobs/slow/batch',
        '/jobs/steps',
        '/jobs/steps/batch',
        '/jobs/{id}',
        '/jobs/{id}/events',
        '/jobs/{id}/tree',
        '/metrics',
        '/ready',
      ].sort(),
    );
    expect(Object.keys(doc.paths['/jobs/{id}']).sort()).toEqual(['delete', 'get']);
    const sleep = doc.paths['/jobs/sleep'].post;
    expect(sleep.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { ms: { type: 'integer', minimum: 0, maximum: 60000 } },
      required: ['ms'],
    });
    expect(sleep.responses['202']).toBeDefined();
    expect(sleep.responses['422'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    // A job without a schema takes any JSON.
    expect(doc.paths['/jobs/fail'].post.requestBody.content['application/json'].schema).toEqual({});
    expect(doc.paths['/jobs/{id}/events'].get.responses['200'].content).toHaveProperty('text/event-stream');
    expect(doc.paths['/jobs/{id}'].get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
  });

  it('lists binary media types only for the jobs that accept them (defineJob accepts)', async () => {
    t = await setup();
    const doc = (await t.app.inject({ method: 'GET', url: '/jobs/openapi.json' })).json();
    expect(Object.keys(doc.paths['/jobs/digest'].post.requestBody.content)).toEqual(['application/json', 'application/octet-stream', 'image/*']);
    expect(Object.keys(doc.paths['/jobs/echo'].post.requestBody.content)).toEqual(['application/json']);
  });
});
