import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Setup } from './setup.js';

const adminKey = 'a'.repeat(24);
const acmeKey = 'b'.repeat(24);
const betaKey = 'c'.repeat(24);
const withKey = (key: string) => ({ 'x-api-key': key });

let t: Setup;
afterEach(async () => {
  await t?.close();
});

async function start(dashboard = false) {
  t = await setup({
    plugin: {
      dashboard,
      auth: {
        keys: [
          { key: adminKey, tenant: 'ops' },
          { key: acmeKey, tenant: 'acme' },
          { key: betaKey, tenant: 'beta' },
        ],
      },
      adminTenants: ['ops'],
    },
  });
  // Paused, so the jobs stay queued under their tenants' flow keys.
  await t.system.pause('echo');
  for (const key of [acmeKey, betaKey, acmeKey]) {
    expect((await t.app.inject({ method: 'POST', url: '/jobs/echo', payload: {}, headers: withKey(key) })).statusCode).toBe(202);
  }
}

describe('GET {prefix}/flow', () => {
  it('shows per job type whether it is paused and its flow keys (tenants) with the most queued, to admins only', async () => {
    await start();
    const get = (url: string, key = adminKey) => t.app.inject({ method: 'GET', url, headers: withKey(key) });
    const all = await get('/jobs/flow');
    expect(all.statusCode).toBe(200);
    expect(all.headers['cache-control']).toBe('no-store');
    const echo = all.json().jobTypes.find((f: { name: string }) => f.name === 'echo');
    expect(echo).toEqual({
      name: 'echo',
      paused: true,
      fairShare: { keyedBy: 'tenant' },
      queued: 3,
      keys: 2,
      partial: false,
      top: [
        { key: 'acme', queued: 2 },
        { key: 'beta', queued: 1 },
      ],
    });
    expect((await get('/jobs/flow?name=echo&keys=1')).json()).toEqual({ jobTypes: [{ ...echo, top: [{ key: 'acme', queued: 2 }] }] });
    expect((await get('/jobs/flow?name=nope')).json()).toMatchObject({ status: 404, code: 'JOB_TYPE_UNKNOWN' });
    expect((await get('/jobs/flow?keys=1000')).json()).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
    expect((await get('/jobs/flow', acmeKey)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await t.app.inject({ method: 'GET', url: '/jobs/flow' })).statusCode).toBe(401);
  });

  it('is in the OpenAPI document with its query and answer schemas', async () => {
    await start();
    const doc = (await t.app.inject({ method: 'GET', url: '/jobs/openapi.json', headers: withKey(adminKey) })).json();
    const get = doc.paths['/jobs/flow'].get;
    expect(get.tags).toEqual(['admin']);
    expect(get.security).toBeDefined();
    expect(get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['keys', 'name']);
    const jobType = get.responses['200'].content['application/json'].schema.properties.jobTypes.items;
    expect(Object.keys(jobType.properties)).toEqual(expect.arrayContaining(['paused', 'rateLimit', 'heldUntil', 'pushBackUntil', 'tokens', 'top']));
    for (const status of ['400', '401', '403', '404', '501']) {
      expect(get.responses[status].content['application/problem+json']).toBeDefined();
    }
  });

  it('feeds the dashboard (admins only)', async () => {
    await start(true);
    const seen = (key: string) => t.app.inject({ method: 'GET', url: '/jobs/dashboard/api/flow', headers: withKey(key) });
    const admin = (await seen(adminKey)).json();
    expect(admin.jobTypes.find((f: { name: string }) => f.name === 'echo')).toMatchObject({
      paused: true,
      keys: 2,
      top: [{ key: 'acme' }, { key: 'beta' }],
    });
    expect((await seen(acmeKey)).json()).toEqual({ jobTypes: [] });
  });
});
