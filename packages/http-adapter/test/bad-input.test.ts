import { Readable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup, type Setup } from './setup.js';

const key = 'k'.repeat(16) + '-tenant-a';
const otherKey = 'k'.repeat(16) + '-tenant-b';

let t: Setup;
let foreignJob: string;

beforeAll(async () => {
  t = await setup({
    plugin: {
      auth: {
        keys: [
          { key, tenant: 'a' },
          { key: otherKey, tenant: 'b' },
        ],
      },
      limits: { jsonBodyBytes: 64 * 1024, blobBytes: 256 * 1024, jsonDepth: 32 },
    },
  });
  const res = await t.app.inject({
    method: 'POST',
    url: '/jobs/echo',
    headers: { 'content-type': 'application/json', 'x-api-key': otherKey },
    payload: '{"owner":"b"}',
  });
  foreignJob = res.json().id;
});
afterAll(async () => {
  await t?.close();
});

const auth = { 'x-api-key': key };
const json = { ...auth, 'content-type': 'application/json' };

function chunked(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return this.push(null);
      sent += 16 * 1024;
      this.push(Buffer.alloc(16 * 1024, 7));
    },
  });
}

/** Every case must be refused with a 4xx problem; none may create a job, crash or answer 5xx. */
const cases: Array<[string, InjectOptions, number, string]> = [
  ['malformed JSON', { method: 'POST', url: '/jobs/echo', headers: json, payload: '{"a":' }, 400, 'MALFORMED_REQUEST'],
  ['trailing garbage', { method: 'POST', url: '/jobs/echo', headers: json, payload: '{"a":1}xyz' }, 400, 'MALFORMED_REQUEST'],
  ['empty JSON body', { method: 'POST', url: '/jobs/echo', headers: json, payload: '' }, 400, 'MALFORMED_REQUEST'],
  ['no body at all', { method: 'POST', url: '/jobs/echo', headers: auth }, 422, 'INPUT_INVALID'],
  ['a JSON array for an object job', { method: 'POST', url: '/jobs/echo', headers: json, payload: '[1,2]' }, 422, 'INPUT_INVALID'],
  ['JSON null', { method: 'POST', url: '/jobs/echo', headers: json, payload: 'null' }, 422, 'INPUT_INVALID'],
  [
    'text/plain',
    { method: 'POST', url: '/jobs/echo', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hi' },
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'form data',
    { method: 'POST', url: '/jobs/echo', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' },
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'multipart',
    { method: 'POST', url: '/jobs/echo', headers: { ...auth, 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' },
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'JSON over the limit',
    { method: 'POST', url: '/jobs/echo', headers: json, payload: JSON.stringify({ a: 'x'.repeat(70 * 1024) }) },
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  ['chunked JSON over the limit', { method: 'POST', url: '/jobs/echo', headers: json, payload: chunked(128 * 1024) }, 413, 'PAYLOAD_TOO_LARGE'],
  [
    'chunked binary over the limit',
    { method: 'POST', url: '/jobs/digest', headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: chunked(512 * 1024) },
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  ['__proto__ key', { method: 'POST', url: '/jobs/echo', headers: json, payload: '{"__proto__":{"polluted":true}}' }, 400, 'MALFORMED_REQUEST'],
  ['nested __proto__', { method: 'POST', url: '/jobs/echo', headers: json, payload: '{"a":{"b":{"__proto__":{"x":1}}}}' }, 400, 'MALFORMED_REQUEST'],
  [
    'constructor.prototype',
    { method: 'POST', url: '/jobs/echo', headers: json, payload: '{"constructor":{"prototype":{"x":1}}}' },
    400,
    'MALFORMED_REQUEST',
  ],
  [
    'deep nesting',
    { method: 'POST', url: '/jobs/echo', headers: json, payload: `{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}` },
    400,
    'MALFORMED_REQUEST',
  ],
  [
    'huge array',
    { method: 'POST', url: '/jobs/sleep', headers: json, payload: `{"ms":[${new Array(30_000).fill(0).join(',')}]}` },
    422,
    'INPUT_INVALID',
  ],
  ['wrong type', { method: 'POST', url: '/jobs/sleep', headers: json, payload: '{"ms":"10"}' }, 422, 'INPUT_INVALID'],
  ['out of range', { method: 'POST', url: '/jobs/sleep', headers: json, payload: '{"ms":1e12}' }, 422, 'INPUT_INVALID'],
  ['unknown job', { method: 'POST', url: '/jobs/rm-rf', headers: json, payload: '{}' }, 404, 'JOB_TYPE_UNKNOWN'],
  [
    'unknown job with a binary body',
    { method: 'POST', url: '/jobs/nope', headers: { ...auth, 'content-type': 'image/png' }, payload: Buffer.alloc(1024) },
    404,
    'JOB_TYPE_UNKNOWN',
  ],
  // An unknown job is refused whatever its body: before the media type, the body limit, an empty or malformed body.
  [
    'unknown job with text/plain',
    { method: 'POST', url: '/jobs/nope', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hi' },
    404,
    'JOB_TYPE_UNKNOWN',
  ],
  [
    'unknown job with JSON over the limit',
    { method: 'POST', url: '/jobs/nope', headers: json, payload: JSON.stringify({ a: 'x'.repeat(70 * 1024) }) },
    404,
    'JOB_TYPE_UNKNOWN',
  ],
  ['unknown job with an empty JSON body', { method: 'POST', url: '/jobs/nope', headers: json, payload: '' }, 404, 'JOB_TYPE_UNKNOWN'],
  ['unknown job with malformed JSON', { method: 'POST', url: '/jobs/nope', headers: json, payload: '{"a":' }, 404, 'JOB_TYPE_UNKNOWN'],
  ['unknown job without a body', { method: 'POST', url: '/jobs/nope', headers: auth }, 404, 'JOB_TYPE_UNKNOWN'],
  [
    'unknown job, chunked binary over the limit',
    { method: 'POST', url: '/jobs/nope', headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: chunked(512 * 1024) },
    404,
    'JOB_TYPE_UNKNOWN',
  ],
  ['job name with a path', { method: 'POST', url: '/jobs/echo/x/y', headers: json, payload: '{}' }, 404, 'ROUTE_NOT_FOUND'],
  ['an encoded slash in the name', { method: 'POST', url: '/jobs/echo%2F..%2Fadmin', headers: json, payload: '{}' }, 404, 'JOB_TYPE_UNKNOWN'],
  ['a malformed URL escape', { method: 'GET', url: '/jobs/%E0%A4%A', headers: auth }, 400, 'MALFORMED_REQUEST'],
  ['wrong method on a job', { method: 'PATCH', url: '/jobs/V1StGXR8_Z5jdHi6B-myT', headers: json, payload: '{}' }, 405, 'METHOD_NOT_ALLOWED'],
  ['wrong method on events', { method: 'POST', url: '/jobs/V1StGXR8_Z5jdHi6B-myT/events', headers: json, payload: '{}' }, 405, 'METHOD_NOT_ALLOWED'],
  ['a bad id', { method: 'GET', url: '/jobs/%00%01', headers: auth }, 404, 'JOB_NOT_FOUND'],
  ['an id too long', { method: 'GET', url: `/jobs/${'x'.repeat(200)}`, headers: auth }, 400, 'MALFORMED_REQUEST'],
  [
    'a body on cancel',
    { method: 'DELETE', url: '/jobs/V1StGXR8_Z5jdHi6B-myT', headers: json, payload: JSON.stringify({ a: 'x'.repeat(4096) }) },
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  ['a bad id for cancel', { method: 'DELETE', url: '/jobs/$$$', headers: auth }, 404, 'JOB_NOT_FOUND'],
  [
    'a bad Last-Event-ID',
    { method: 'GET', url: '/jobs/V1StGXR8_Z5jdHi6B-myT/events', headers: { ...auth, 'last-event-id': '-1' } },
    400,
    'MALFORMED_REQUEST',
  ],
  [
    'a bad Idempotency-Key',
    { method: 'POST', url: '/jobs/echo', headers: { ...json, 'idempotency-key': 'a b' }, payload: '{}' },
    400,
    'MALFORMED_REQUEST',
  ],
  ['missing credentials', { method: 'POST', url: '/jobs/echo', headers: { 'content-type': 'application/json' }, payload: '{}' }, 401, 'UNAUTHORIZED'],
  // Credentials first: an unauthenticated caller learns nothing about which jobs exist.
  [
    'missing credentials, unknown job',
    { method: 'POST', url: '/jobs/nope', headers: { 'content-type': 'text/plain' }, payload: 'hi' },
    401,
    'UNAUTHORIZED',
  ],
  [
    'a wrong API key',
    { method: 'POST', url: '/jobs/echo', headers: { 'content-type': 'application/json', 'x-api-key': 'k'.repeat(16) }, payload: '{}' },
    401,
    'UNAUTHORIZED',
  ],
  ['a wrong bearer token', { method: 'GET', url: '/jobs/V1StGXR8_Z5jdHi6B-myT', headers: { authorization: 'Bearer nope' } }, 401, 'UNAUTHORIZED'],
  [
    'a malformed Authorization header',
    { method: 'GET', url: '/jobs/V1StGXR8_Z5jdHi6B-myT', headers: { authorization: 'Basic Zm9vOmJhcg==' } },
    401,
    'UNAUTHORIZED',
  ],
  ['an empty API key', { method: 'GET', url: '/jobs/V1StGXR8_Z5jdHi6B-myT', headers: { 'x-api-key': '' } }, 401, 'UNAUTHORIZED'],
];

describe('bad input', () => {
  it.each(cases)('refuses %s with a problem and creates no job', async (_name, request, status, code) => {
    const before = (await t.system.stats()).submitted;
    const res = await t.app.inject(request);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({
      status,
      code,
      type: expect.stringContaining('/problems/'),
      title: expect.any(String),
      detail: expect.any(String),
      instance: expect.any(String),
    });
    expect((await t.system.stats()).submitted).toBe(before);
    expect(await t.blobFiles()).toEqual([]);
  });

  it("answers 404 for another tenant's job on every route", async () => {
    for (const [method, url] of [
      ['GET', `/jobs/${foreignJob}`],
      ['GET', `/jobs/${foreignJob}/tree`],
      ['GET', `/jobs/${foreignJob}/events`],
      ['DELETE', `/jobs/${foreignJob}`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: auth });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe('JOB_NOT_FOUND');
    }
    const own = await t.app.inject({ method: 'GET', url: `/jobs/${foreignJob}`, headers: { 'x-api-key': otherKey } });
    expect(own.statusCode).toBe(200);
  });

  it('never pollutes Object.prototype', () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('still serves after the whole suite', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/jobs/echo', headers: json, payload: '{"ok":true}' });
    expect(res.statusCode).toBe(202);
    expect(t.system.health()).toBe('healthy');
  });
});
