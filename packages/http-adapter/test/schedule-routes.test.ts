import { SimulatedClock } from '@scalable-api/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Setup } from './setup.js';

const adminKey = 'a'.repeat(24);
const tenantKey = 'b'.repeat(24);

let t: Setup;
afterEach(async () => {
  await t?.close();
});

const withKey = (key: string) => ({ 'x-api-key': key });

describe('schedule and pause routes', () => {
  it('creates, lists, runs and deletes a schedule; refuses bad timing and unknown jobs as problems', async () => {
    const clock = new SimulatedClock();
    t = await setup({ system: { clock } });
    const put = (key: string, body: unknown) => t.app.inject({ method: 'PUT', url: `/jobs/schedules/${key}`, payload: body as object });
    const created = await put('every-second', { job: 'echo', input: { hello: 1 }, everyMs: 1_000, overlap: 'skip' });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({
      key: 'every-second',
      job: 'echo',
      input: { hello: 1 },
      everyMs: 1_000,
      missed: 'skip',
      overlap: 'skip',
      graceMs: 10_000,
      nextAt: new Date(clock.now() + 1_000).toISOString(),
      version: 1,
      lastAt: null,
      lastJobId: null,
    });
    expect((await put('nightly', { job: 'echo', input: {}, cron: '0 3 * * *', tz: 'Europe/Berlin' })).json()).toMatchObject({
      cron: '0 3 * * *',
      tz: 'Europe/Berlin',
    });
    await clock.advance(1_000);
    const list = await t.app.inject({ method: 'GET', url: '/jobs/schedules' });
    expect(list.statusCode).toBe(200);
    const [first, second] = list.json().schedules;
    expect(first).toMatchObject({ key: 'every-second', lastAt: new Date(clock.now()).toISOString() });
    expect(second).toMatchObject({ key: 'nightly' });
    expect((await t.system.get(first.lastJobId))?.meta).toMatchObject({ schedule: 'every-second' });

    expect((await put('bad', { job: 'echo', input: {}, everyMs: 1_000, cron: '* * * * *' })).json()).toMatchObject({
      status: 400,
      code: 'MALFORMED_REQUEST',
    });
    expect((await put('bad', { job: 'echo', input: {}, cron: 'nope' })).json()).toMatchObject({ status: 422, code: 'INPUT_INVALID' });
    expect((await put('bad', { job: 'echo', input: 'not an object', everyMs: 1_000 })).json()).toMatchObject({ status: 422, code: 'INPUT_INVALID' });
    expect((await put('bad', { job: 'nope', everyMs: 1_000 })).json()).toMatchObject({ status: 404, code: 'JOB_TYPE_UNKNOWN' });
    expect((await put('bad', { job: 'echo', everyMs: 1_000, extra: true })).json()).toMatchObject({ status: 422, code: 'INPUT_INVALID' });

    expect((await t.app.inject({ method: 'DELETE', url: '/jobs/schedules/nightly' })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: '/jobs/schedules/nightly' })).json()).toMatchObject({
      status: 404,
      code: 'SCHEDULE_NOT_FOUND',
    });
  });

  it('pauses and resumes a job type: its jobs wait queued, then run', async () => {
    t = await setup();
    expect((await t.app.inject({ method: 'PUT', url: '/jobs/paused/echo' })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/jobs/paused' })).json()).toEqual({ paused: ['echo'] });
    const { id } = (await t.app.inject({ method: 'POST', url: '/jobs/echo', payload: { a: 1 } })).json();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${id}` })).json()).toMatchObject({ status: 'queued' });
    expect((await t.app.inject({ method: 'DELETE', url: '/jobs/paused/echo' })).statusCode).toBe(204);
    expect(await t.system.waitResult(id, { signal: AbortSignal.timeout(5_000) })).toEqual({ a: 1 });
    expect((await t.app.inject({ method: 'PUT', url: '/jobs/paused/nope' })).json()).toMatchObject({ status: 404, code: 'JOB_TYPE_UNKNOWN' });
  });

  it('lets only admin tenants use them when the plugin knows tenants', async () => {
    t = await setup({
      plugin: {
        auth: {
          keys: [
            { key: adminKey, tenant: 'ops' },
            { key: tenantKey, tenant: 'acme' },
          ],
        },
        adminTenants: ['ops'],
      },
    });
    const forbidden = await t.app.inject({ method: 'GET', url: '/jobs/schedules', headers: withKey(tenantKey) });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect((await t.app.inject({ method: 'PUT', url: '/jobs/paused/echo', headers: withKey(tenantKey) })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/jobs/schedules' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/jobs/schedules', headers: withKey(adminKey) })).json()).toEqual({ schedules: [] });
    expect((await t.app.inject({ method: 'PUT', url: '/jobs/paused/echo', headers: withKey(adminKey) })).statusCode).toBe(204);
  });

  it('shows schedules and paused types on the dashboard, to admins only', async () => {
    t = await setup({
      plugin: {
        dashboard: true,
        auth: {
          keys: [
            { key: adminKey, tenant: 'ops' },
            { key: tenantKey, tenant: 'acme' },
          ],
        },
        adminTenants: ['ops'],
      },
    });
    await t.system.scheduleByName('nightly', 'echo', {}, { cron: '0 3 * * *' });
    await t.system.pause('sleep');
    const seen = (key: string) => t.app.inject({ method: 'GET', url: '/jobs/dashboard/api/schedules', headers: withKey(key) });
    expect((await seen(adminKey)).json()).toMatchObject({ schedules: [{ key: 'nightly', job: 'echo', cron: '0 3 * * *' }], paused: ['sleep'] });
    expect((await seen(tenantKey)).json()).toEqual({ schedules: [], paused: [] });
    const page = await t.app.inject({ method: 'GET', url: '/jobs/dashboard/', headers: withKey(adminKey) });
    expect(page.body).toContain('data-testid="schedules"');
  });

  it('states the routes, their bodies and answers in the OpenAPI document', async () => {
    t = await setup({ plugin: { auth: { keys: [{ key: adminKey, tenant: 'ops' }] }, adminTenants: ['ops'] } });
    const doc = (await t.app.inject({ method: 'GET', url: '/jobs/openapi.json', headers: withKey(adminKey) })).json();
    const put = doc.paths['/jobs/schedules/{key}'].put;
    expect(put.requestBody.content['application/json'].schema.required).toEqual(['job']);
    expect(put.responses['200'].content['application/json'].schema.properties.nextAt).toBeDefined();
    expect(put.responses['403']).toBeDefined();
    expect(put.security).toBeDefined();
    expect(doc.paths['/jobs/schedules/{key}'].delete.responses['204']).toBeDefined();
    expect(doc.paths['/jobs/paused/{name}'].put).toBeDefined();
    expect(doc.paths['/jobs/paused'].get.responses['200'].content['application/json'].schema.properties.paused).toBeDefined();
  });
});
