import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup, type Setup } from './setup.js';

/**
 * Property-based: across the whole space of bad requests — malformed or hostile JSON, inputs the
 * schema refuses, unknown jobs, unsupported media types, bodies over the limits, bad headers,
 * wrong methods — the adapter answers a 4xx problem, never a 5xx, never crashes, and never
 * creates a job. Every generator below produces only requests that must be refused.
 */
let t: Setup;
beforeAll(async () => {
  t = await setup({ plugin: { limits: { jsonBodyBytes: 4_096, jsonDepth: 16 } } });
});
afterAll(async () => {
  await t?.close();
});

const registered = new Set(['echo', 'sleep', 'steps', 'chatty', 'fail', 'slow', 'brood', 'parent', 'digest', 'openapi.json', 'dashboard']);
const json = { 'content-type': 'application/json' };

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });

/** Text that is not JSON: random strings, and valid JSON broken by a cut or trailing garbage. */
const malformedJson = fc
  .oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    jsonValue.chain((v) => {
      const text = JSON.stringify(v) ?? 'null';
      return fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut));
    }),
    fc.tuple(jsonValue, fc.constantFrom('x', '}', ']', ',', '{', '"')).map(([v, tail]) => `${JSON.stringify(v)}${tail}`),
  )
  .filter((text) => !parses(text))
  .map((payload): InjectOptions => ({ method: 'POST', url: '/jobs/echo', headers: json, payload }));

/** JSON the `sleep` job's schema (`{ ms: integer 0..60000 }`) refuses. */
const badMs = fc.oneof(
  fc.double({ noInteger: true }),
  fc.integer({ max: -1 }),
  fc.integer({ min: 60_001 }),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer()),
  fc.dictionary(fc.string(), fc.integer()),
);
const schemaInvalid = fc
  .oneof(
    badMs.map((ms) => ({ ms })),
    fc.dictionary(
      fc.string().filter((k) => k !== 'ms' && k !== '__proto__'),
      jsonValue,
      { maxKeys: 4 },
    ),
    fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(jsonValue, { maxLength: 4 })),
  )
  .map((body): InjectOptions => ({ method: 'POST', url: '/jobs/sleep', headers: json, payload: JSON.stringify(body) }));

/** `echo` takes any JSON object: anything else is refused. */
const notAnObject = fc
  .oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.array(jsonValue, { maxLength: 5 }))
  .map((body): InjectOptions => ({ method: 'POST', url: '/jobs/echo', headers: json, payload: JSON.stringify(body) }));

const unknownJob = fc
  .stringMatching(/^[A-Za-z0-9_.~-]{1,60}$/)
  // `..` is a dot-segment: `/jobs/..` is `/`, outside the plugin's prefix and the host app's
  // business (fast-check finds it about once in 300 runs).
  .filter((name) => !registered.has(name) && name !== '..')
  .map((name): InjectOptions => ({ method: 'POST', url: `/jobs/${name}`, headers: json, payload: '{}' }));

/** Anything but JSON or a binary type. */
const badMediaType = fc
  .tuple(
    fc.constantFrom('text', 'audio', 'video', 'font', 'model', 'multipart', 'message', 'application', 'x-custom'),
    fc.stringMatching(/^[a-z0-9.+-]{1,30}$/),
  )
  .filter(([type, sub]) => !sub.includes('json') && !(type === 'application' && sub === 'octet-stream'))
  .map(([type, sub]): InjectOptions => ({ method: 'POST', url: '/jobs/echo', headers: { 'content-type': `${type}/${sub}` }, payload: '{"a":1}' }));

/** Prototype pollution attempts at any depth of an otherwise acceptable object. */
const pollution = fc
  .tuple(
    fc.constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}'),
    fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 5 }),
  )
  .map(([inner, path]) => path.reduceRight((acc, key) => `{"${key}":${acc}}`, inner))
  .map((payload): InjectOptions => ({ method: 'POST', url: '/jobs/echo', headers: json, payload }));

const tooDeep = fc
  .tuple(fc.integer({ min: 17, max: 2_000 }), fc.constantFrom(['[', ']'], ['{"a":', '}']))
  .map(([depth, [open, close]]) => `{"x":${open.repeat(depth)}1${close.repeat(depth)}}`)
  .map((payload): InjectOptions => ({ method: 'POST', url: '/jobs/echo', headers: json, payload }));

const tooLarge = fc
  .integer({ min: 4_097, max: 64_000 })
  .map((size): InjectOptions => ({ method: 'POST', url: '/jobs/echo', headers: json, payload: JSON.stringify({ a: 'x'.repeat(size) }) }));

/** A valid body with an Idempotency-Key outside 1–255 visible ASCII characters. */
const badIdempotencyKey = fc
  .oneof(
    fc.constant(''),
    fc.stringMatching(/^[!-~]{256,400}$/),
    fc.tuple(fc.stringMatching(/^[!-~]{0,20}$/), fc.stringMatching(/^[!-~]{0,20}$/)).map(([a, b]) => `${a} ${b}`),
  )
  .map((key): InjectOptions => ({ method: 'POST', url: '/jobs/echo', headers: { ...json, 'idempotency-key': key }, payload: '{"a":1}' }));

const wrongMethod = fc
  .tuple(fc.constantFrom('PUT', 'PATCH'), fc.constantFrom('echo', 'sleep', 'nope'))
  .map(([method, name]): InjectOptions => ({ method, url: `/jobs/${name}`, headers: json, payload: '{"a":1}' }));

const badRequest = fc.oneof(
  malformedJson,
  schemaInvalid,
  notAnObject,
  unknownJob,
  badMediaType,
  pollution,
  tooDeep,
  tooLarge,
  badIdempotencyKey,
  wrongMethod,
);

describe('jobsPlugin under fuzzed bad input', () => {
  it('answers every bad request with a 4xx problem and creates no job', async () => {
    await fc.assert(
      fc.asyncProperty(badRequest, async (request) => {
        const res = await t.app.inject(request);
        expect(res.statusCode, JSON.stringify(request).slice(0, 200)).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json()).toMatchObject({ status: res.statusCode, code: expect.any(String) });
        const stats = await t.system.stats();
        expect(stats.submitted).toBe(0);
        expect(stats.queued + stats.running + stats.delayed).toBe(0);
      }),
      { numRuns: 600 },
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(t.system.health()).toBe('healthy');
    const ok = await t.app.inject({ method: 'POST', url: '/jobs/echo', headers: json, payload: '{"still":"serving"}' });
    expect(ok.statusCode).toBe(202);
  });
});
