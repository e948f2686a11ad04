import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuickstart, type Quickstart } from '../../../examples/quickstart/src/quickstart-app.js';
import { arbitraryOf } from './schema-arbitrary.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is walked as loose JSON; the validator checks its shape
type Json = Record<string, any>;

let quickstart: Quickstart;
let doc: Json;
const key = 'contract-test-key-0123456789';

beforeAll(async () => {
  // The quickstart's own jobs (the fanout bound, the binary thumbnail), small bounds so that
  // generated work is refused with documented 503s rather than piling up.
  quickstart = await createQuickstart({
    workers: 2,
    queueLimit: 300,
    logger: false,
    dashboard: false,
    plugin: { auth: { keys: [{ key, tenant: 'fuzz' }] }, limits: { maxWaitSeconds: 1 } },
  });
  await quickstart.app.ready();
  doc = (await quickstart.app.inject({ method: 'GET', url: '/jobs/openapi.json', headers: { 'x-api-key': key } })).json();
});
afterAll(async () => {
  await quickstart?.shutdown(100);
});

/** The document's operations, except the event stream (it stays open while its job runs). */
function operations(): { path: string; method: string; op: Json }[] {
  const out = [];
  for (const [path, item] of Object.entries(doc['paths'] as Json)) {
    for (const [method, op] of Object.entries(item as Json)) if (!path.endsWith('/events')) out.push({ path, method, op: op as Json });
  }
  return out;
}

const ajv = new Ajv2020({ strict: false, formats: { 'uri-reference': true } });
function validatorOf(schema: Json) {
  // `$ref: '#/components/...'` resolves against the document itself.
  return ajv.compile({ ...schema, components: doc['components'] });
}

interface Generated {
  path: string;
  method: string;
  op: Json;
  headers: Record<string, string>;
  body: { type: string; payload: unknown } | undefined;
}

/** A query parameter's generated value as it goes into the URL (a date-time as ISO 8601). */
function queryValueOf(schema: Json): fc.Arbitrary<string> {
  // RFC 3339 has four-digit years (toISOString writes +010000-… beyond them).
  if (schema['format'] === 'date-time') {
    return fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  return arbitraryOf(schema).map(String);
}

/** HTTP's field-value grammar (visible ASCII, spaces inside): a rule of HTTP, not of the document. */
const fieldValue = (value: unknown) => typeof value === 'string' && /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value);

function requestOf(entry: { path: string; method: string; op: Json }): fc.Arbitrary<Generated> {
  const { op } = entry;
  const params = (op['parameters'] ?? []) as Json[];
  const path = fc.record(Object.fromEntries(params.filter((p) => p['in'] === 'path').map((p) => [p['name'], fc.stringMatching(/^[\w-]{1,30}$/)])));
  const query = fc.record(Object.fromEntries(params.filter((p) => p['in'] === 'query').map((p) => [p['name'], queryValueOf(p['schema'])])), {
    requiredKeys: [],
  });
  const headers = fc.record(
    Object.fromEntries(params.filter((p) => p['in'] === 'header').map((p) => [p['name'], arbitraryOf(p['schema']).filter(fieldValue)])),
    { requiredKeys: [] },
  );
  const content = Object.entries((op['requestBody']?.['content'] ?? {}) as Json);
  const body: fc.Arbitrary<Generated['body']> =
    content.length === 0
      ? fc.constant(undefined)
      : fc.oneof(
          ...content.map(([type, media]) =>
            type === 'application/json'
              ? arbitraryOf((media as Json)['schema'])
                  .filter((payload) => !poisoned(payload))
                  .map((payload) => ({ type, payload: JSON.stringify(payload) }))
              : type === 'application/x-ndjson'
                ? // A batch's NDJSON body: the documented item, one a line.
                  fc
                    .array(arbitraryOf((media as Json)['schema']['x-ndjson-item']), { minLength: 1, maxLength: 5 })
                    .filter((items) => !items.some(poisoned))
                    .map((items) => ({ type, payload: items.map((item) => JSON.stringify(item)).join('\n') }))
                : fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ type: type.replace('/*', '/png'), payload: Buffer.from(bytes) })),
          ),
          ...(op['requestBody']['required'] ? [] : [fc.constant(undefined)]),
        );
  return fc.record({ path, query, headers, body }).map((r) => ({
    ...entry,
    path:
      entry.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String((r.path as Record<string, unknown>)[name]))) +
      (Object.keys(r.query).length > 0 ? `?${new URLSearchParams(r.query as Record<string, string>).toString()}` : ''),
    headers: r.headers as Record<string, string>,
    body: r.body,
  }));
}

/** The keys `x-body-limits` forbids in JSON bodies (`forbiddenKeys`): `__proto__`, `constructor.prototype`. */
function poisoned(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  for (const [key, child] of Object.entries(value)) {
    if (key === '__proto__') return true;
    if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) return true;
    if (poisoned(child)) return true;
  }
  return false;
}

async function send(request: Generated) {
  return quickstart.app.inject({
    method: request.method.toUpperCase() as 'GET',
    url: request.path,
    headers: { 'x-api-key': key, ...request.headers, ...(request.body ? { 'content-type': request.body.type } : {}) },
    ...(request.body ? { payload: request.body.payload as string } : {}),
  });
}

/** The answer is one the document states: its status, its media type, its body's schema, its headers. */
function expectDocumented(request: Generated, res: Awaited<ReturnType<typeof send>>) {
  const where = `${request.method.toUpperCase()} ${request.path} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  const documented = (request.op['responses'] as Json)[String(res.statusCode)] as Json | undefined;
  expect(documented, where).toBeDefined();
  const content = documented!['content'] as Json | undefined;
  if (content && res.statusCode !== 204) {
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!;
    expect(Object.keys(content), where).toContain(type);
    const schema = content[type]['schema'];
    if (type.endsWith('json') && schema && Object.keys(schema).length > 0) {
      const validate = validatorOf(schema);
      expect(validate(res.json()), `${where}\n${JSON.stringify(validate.errors)}`).toBe(true);
    }
  }
  for (const name of Object.keys((documented!['headers'] ?? {}) as Json)) {
    if (name === 'Retry-After') expect(res.headers['retry-after'], where).toMatch(/^[1-9]\d*$/);
  }
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('states every header, requirement, content type, limit, security scheme and the servers', () => {
    expect(doc['servers']).toEqual([{ url: 'http://localhost:80' }]);
    expect(doc['components']['securitySchemes']).toEqual({
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      bearer: { type: 'http', scheme: 'bearer' },
    });
    const echo = doc['paths']['/jobs/echo']['post'];
    expect(echo['security']).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(echo['requestBody']['required']).toBe(true);
    expect(Object.keys(echo['requestBody']['content'])).toEqual(['application/json']);
    expect(echo['x-body-limits']).toEqual({
      'application/json': { maxBytes: 1_048_576, maxDepth: 64, forbiddenKeys: ['__proto__', 'constructor.prototype'] },
    });
    const key = echo['parameters'].find((p: Json) => p['name'] === 'idempotency-key');
    expect(key['schema']).toEqual({ type: 'string', minLength: 1, maxLength: 255, pattern: '^[!-~]+$' });
    expect(echo['parameters'].map((p: Json) => p['name'])).toContain('prefer');
    expect(echo['responses']['202']['headers']).toHaveProperty('Location');
    expect(echo['responses']['503']['headers']).toHaveProperty('Retry-After');
    const thumbnail = doc['paths']['/jobs/thumbnail']['post'];
    expect(Object.keys(thumbnail['requestBody']['content'])).toEqual(['application/json', 'image/png', 'image/jpeg']);
    // The fanout bound (2,000 jobs a tree) is in the schema: no depth and width beyond it validate.
    const fanout = validatorOf(doc['paths']['/jobs/fanout']['post']['requestBody']['content']['application/json']['schema']);
    expect(fanout({ depth: 3, width: 12 })).toBe(true);
    expect(fanout({ depth: 3, width: 13 })).toBe(false);
    expect(doc['paths']['/health']['get']['security']).toBeUndefined();
    // The listing: its filters and their bounds, as the route enforces them.
    const list = doc['paths']['/jobs']['get'];
    expect(list['security']).toEqual([{ apiKey: [] }, { bearer: [] }]);
    const query = Object.fromEntries(list['parameters'].filter((p: Json) => p['in'] === 'query').map((p: Json) => [p['name'], p['schema']]));
    expect(Object.keys(query).sort()).toEqual(['cursor', 'limit', 'name', 'since', 'status']);
    expect(query['limit']).toMatchObject({ type: 'integer', minimum: 1, maximum: 1_000 });
    expect(query['since']).toMatchObject({ type: 'string', format: 'date-time' });
    expect(list['responses']['200']['content']['application/json']['schema']['required']).toEqual(['jobs']);
    expect(list['responses']['400']['content']).toHaveProperty('application/problem+json');
  });

  // Before the generated requests, which fill the small queue with sleeping jobs.
  it('documents what a submit leads to: the job, its tree and its cancellation answer as stated', async () => {
    const accepted = await quickstart.app.inject({
      method: 'POST',
      url: '/jobs/fanout',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      payload: { depth: 1, width: 2 },
    });
    expect(accepted.statusCode).toBe(202);
    const location = accepted.headers['location'] as string;
    expect(location).toBe(`/jobs/${accepted.json().id}`);
    const id = accepted.json().id as string;
    for (const [method, path] of [
      ['get', `/jobs/{id}`],
      ['get', `/jobs/{id}/tree`],
      ['delete', `/jobs/{id}`],
    ] as const) {
      const request: Generated = { path: path.replace('{id}', id), method, op: doc['paths'][path][method], headers: {}, body: undefined };
      const res = await send(request);
      expect(res.statusCode).toBeLessThan(300);
      expectDocumented(request, res);
    }
  });

  it('matches the running server: generated requests get documented answers, and valid ones are never refused as invalid', async () => {
    const entries = operations();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...entries.map(requestOf)), async (request) => {
        const res = await send(request);
        expectDocumented(request, res);
        // Generated from the document, so never malformed, too large, of a wrong type or invalid.
        // What depends on state rather than on the request: 404 (an id that does not exist), 409,
        // 429, 503, and 422 IDEMPOTENCY_CONFLICT (a generated key used before with another body).
        if (res.statusCode === 422 && res.json().code === 'IDEMPOTENCY_CONFLICT') return;
        // A listing cursor is opaque: one generated from its schema was never given by the server.
        if (res.statusCode === 400 && res.json().code === 'CURSOR_INVALID') return;
        // A Webhook-Url is judged by the system's allowlist (configuration, not the schema).
        if (res.statusCode === 400 && res.json().code === 'WEBHOOK_REFUSED') return;
        expect([400, 413, 415, 422], `${request.method} ${request.path}: ${res.body.slice(0, 300)}`).not.toContain(res.statusCode);
        if (res.statusCode >= 500) expect(res.statusCode, res.body.slice(0, 300)).toBe(503);
      }),
      { numRuns: 300 },
    );
  });

  it('matches the running server: a request that breaks one documented rule gets a documented 4xx', async () => {
    const submits = operations().filter((e) => e.method === 'post' && e.op['requestBody']);
    const broken = fc
      .oneof(...submits.map(requestOf))
      .chain((request) =>
        fc.constantFrom<[string, Generated]>(
          ['no body', { ...request, body: undefined }],
          ['a JSON array', { ...request, body: { type: 'application/json', payload: '[1,2]' } }],
          ['an undocumented media type', { ...request, body: { type: 'text/csv', payload: 'a,b' } }],
          ['a forbidden key', { ...request, body: { type: 'application/json', payload: '{"a":{"__proto__":{"x":1}}}' } }],
          ['a key with a space', { ...request, headers: { ...request.headers, 'idempotency-key': 'a b' } }],
          ['a key too long', { ...request, headers: { ...request.headers, 'idempotency-key': 'k'.repeat(256) } }],
        ),
      );
    await fc.assert(
      fc.asyncProperty(broken, async ([rule, request]) => {
        const json = request.op['requestBody']['content']['application/json']['schema'] as Json;
        if (rule === 'no body' && !request.op['requestBody']['required']) return;
        if (rule === 'a JSON array' && json['type'] !== 'object' && !json['anyOf']) return;
        const res = await send(request);
        expectDocumented(request, res);
        expect([400, 415, 422], `${rule}: ${request.path} -> ${res.statusCode} ${res.body.slice(0, 200)}`).toContain(res.statusCode);
      }),
      { numRuns: 150 },
    );
  });
});
