import { afterEach, describe, expect, it } from 'vitest';
import { post, setup, type Setup } from './setup.js';

const keyA = 'a'.repeat(24);
const keyB = 'b'.repeat(24);

let t: Setup;
afterEach(async () => {
  await t?.close();
});

describe('jobsPlugin auth', () => {
  it('answers 401 with WWW-Authenticate without credentials, and accepts an API key or a bearer token', async () => {
    t = await setup({ plugin: { auth: { keys: [{ key: keyA, tenant: 'a' }] } } });
    const none = await post(t.app, '/jobs/echo', {});
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="jobs"');
    expect(none.json().code).toBe('UNAUTHORIZED');
    expect((await post(t.app, '/jobs/echo', {}, { 'x-api-key': keyA })).statusCode).toBe(202);
    expect((await post(t.app, '/jobs/echo', {}, { authorization: `Bearer ${keyA}` })).statusCode).toBe(202);
    expect((await post(t.app, '/jobs/echo', {}, { authorization: `Bearer ${keyA}x` })).statusCode).toBe(401);
    // Operations routes stay open for balancers and Prometheus.
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
  });

  it('stores the tenant in job meta and scopes ids and idempotency keys by tenant', async () => {
    t = await setup({
      plugin: {
        auth: {
          keys: [
            { key: keyA, tenant: 'a' },
            { key: keyB, tenant: 'b' },
          ],
        },
      },
    });
    const a = await post(t.app, '/jobs/echo', { n: 1 }, { 'x-api-key': keyA, 'idempotency-key': 'same' });
    const b = await post(t.app, '/jobs/echo', { n: 2 }, { 'x-api-key': keyB, 'idempotency-key': 'same' });
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(202);
    expect(b.json().id).not.toBe(a.json().id);
    expect((await t.system.get(a.json().id))?.meta).toEqual({ tenant: 'a' });
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${a.json().id}`, headers: { 'x-api-key': keyB } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${a.json().id}`, headers: { 'x-api-key': keyA } })).statusCode).toBe(200);
  });

  it("lets a tenant see its jobs' children, which inherit the root's tenant", async () => {
    t = await setup({
      plugin: {
        auth: {
          keys: [
            { key: keyA, tenant: 'a' },
            { key: keyB, tenant: 'b' },
          ],
        },
      },
    });
    const { id } = (await post(t.app, '/jobs/parent', { width: 1, ms: 0 }, { 'x-api-key': keyA })).json();
    await t.system.handle(id).result();
    const tree = (await t.app.inject({ method: 'GET', url: `/jobs/${id}/tree`, headers: { 'x-api-key': keyA } })).json();
    const child = tree.children[0].id;
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${child}`, headers: { 'x-api-key': keyA } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${child}`, headers: { 'x-api-key': keyB } })).statusCode).toBe(404);
  });

  it('uses verify() for credentials that are not static keys', async () => {
    t = await setup({ plugin: { auth: { verify: (token) => (token === 'signed-token-for-c' ? 'c' : undefined) } } });
    expect((await post(t.app, '/jobs/echo', {}, { authorization: 'Bearer signed-token-for-c' })).statusCode).toBe(202);
    expect((await post(t.app, '/jobs/echo', {}, { authorization: 'Bearer forged' })).statusCode).toBe(401);
  });

  it('refuses keys too short to be secrets', async () => {
    await expect(setup({ plugin: { auth: { keys: [{ key: 'short', tenant: 'a' }] } } })).rejects.toThrow(/at least 16/);
  });

  it('takes the tenant from the tenant option when there is no auth', async () => {
    t = await setup({ plugin: { tenant: (request) => request.headers['x-tenant'] as string | undefined } });
    const { id } = (await post(t.app, '/jobs/echo', {}, { 'x-tenant': 'gw-1' })).json();
    expect((await t.system.get(id))?.meta).toEqual({ tenant: 'gw-1' });
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${id}`, headers: { 'x-tenant': 'gw-2' } })).statusCode).toBe(404);
    expect((await post(t.app, '/jobs/echo', {}, { 'x-tenant': 'bad tenant!' })).statusCode).toBe(400);
  });
});

describe('jobsPlugin rate limit', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a client used its burst, per client', async () => {
    t = await setup({
      plugin: {
        auth: {
          keys: [
            { key: keyA, tenant: 'a' },
            { key: keyB, tenant: 'b' },
          ],
        },
        limits: { rate: { max: 2, timeWindowMs: 4_000 } },
      },
    });
    expect((await post(t.app, '/jobs/echo', {}, { 'x-api-key': keyA })).statusCode).toBe(202);
    expect((await post(t.app, '/jobs/echo', {}, { 'x-api-key': keyA })).statusCode).toBe(202);
    const limited = await post(t.app, '/jobs/echo', {}, { 'x-api-key': keyA });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await post(t.app, '/jobs/echo', {}, { 'x-api-key': keyB })).statusCode).toBe(202);
    expect((await t.system.stats()).submitted).toBe(3);
  });
});
