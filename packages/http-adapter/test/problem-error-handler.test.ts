import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { HttpProblemError } from '../src/index.js';
import { problemErrorHandler } from '../src/problem-error-handler.js';

/** The handler on its own, with routes that throw what the job routes can meet. */
async function app() {
  const counted: string[] = [];
  const server = Fastify({ logger: false });
  server.setErrorHandler(problemErrorHandler({ retryAfterSeconds: 7, onProblem: (code) => counted.push(code) }));
  server.get('/bug', async () => {
    throw new Error('secret detail of a bug');
  });
  server.get('/coded', async () => {
    throw Object.assign(new Error('Input for x is invalid'), {
      code: 'INPUT_INVALID',
      details: { issues: [{ message: 'bad', path: [{ key: 'a' }, 0] }] },
    });
  });
  server.get('/overload', async () => {
    throw Object.assign(new Error('full'), { code: 'QUEUE_FULL' });
  });
  server.get('/own', async () => {
    throw new HttpProblemError('METHOD_NOT_ALLOWED', 'nope', { headers: { allow: 'GET' } });
  });
  server.get('/fastify-400', async () => {
    throw Object.assign(new Error('bad header'), { statusCode: 400, code: 'FST_SOMETHING' });
  });
  await server.ready();
  return { server, counted };
}

describe('problemErrorHandler', () => {
  it('answers 500 INTERNAL_ERROR for an uncoded error without leaking its message', async () => {
    const { server, counted } = await app();
    const res = await server.inject('/bug');
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'INTERNAL_ERROR', status: 500, instance: '/bug' });
    expect(res.body).not.toContain('secret');
    expect(counted).toEqual(['INTERNAL_ERROR']);
  });

  it("maps the core's coded errors, with issues flattened and Retry-After on 503", async () => {
    const { server } = await app();
    const invalid = await server.inject('/coded');
    expect(invalid.statusCode).toBe(422);
    expect(invalid.json().issues).toEqual([{ message: 'bad', path: ['a', 0] }]);
    const full = await server.inject('/overload');
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('7');
    expect(full.json().retryAfter).toBe(7);
  });

  it("keeps the adapter's own headers and maps fastify's 4xx to MALFORMED_REQUEST", async () => {
    const { server } = await app();
    const own = await server.inject('/own');
    expect(own.statusCode).toBe(405);
    expect(own.headers.allow).toBe('GET');
    const bad = await server.inject('/fastify-400');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('MALFORMED_REQUEST');
  });
});
