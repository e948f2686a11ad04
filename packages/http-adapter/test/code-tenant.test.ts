import { Writable } from 'node:stream';
import { createJobSystem, defineJob } from '@scalable-api/core';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { jobsPlugin } from '../src/index.js';

const acmeKey = 'acme-key-0123456789';
const globexKey = 'globex-key-0123456789';
const echo = defineJob({ name: 'echo', run: (input: { n: number }) => input.n });

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A plugin with two tenants' keys, and its warnings as parsed log lines. */
async function setup() {
  const system = createJobSystem({ jobs: [echo], workers: 1 });
  await system.start();
  const warnings: { msg: string; jobId?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      warnings.push(JSON.parse(chunk.toString('utf8')) as { msg: string });
      done();
    },
  });
  const app = Fastify({ logger: { level: 'warn', stream } });
  const keys = [
    { key: acmeKey, tenant: 'acme' },
    { key: globexKey, tenant: 'globex' },
  ];
  await app.register(jobsPlugin, { system, auth: { keys } });
  close = async () => {
    await app.close();
    await system.stop({ drain: false, timeoutMs: 0 });
  };
  const get = (id: string, key: string) => app.inject({ method: 'GET', url: `/jobs/${id}`, headers: { 'x-api-key': key } });
  return { system, app, get, warnings };
}

describe('jobs submitted in code, seen over HTTP', () => {
  it('belong to the tenant given to submit: its keys see them, another tenant gets a 404', async () => {
    const { system, get } = await setup();
    const { id } = await system.submit(echo, { n: 1 }, { tenant: 'acme' });
    await system.handle(id).result();
    const mine = await get(id, acmeKey);
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ id, status: 'completed', output: 1 });
    expect((await get(id, globexKey)).statusCode).toBe(404);
  });

  it("without a tenant are no API key caller's: a 404 like a missing job, and the server log says why once", async () => {
    const { system, get, warnings } = await setup();
    const { id } = await system.submit(echo, { n: 1 });
    const { id: other } = await system.submit(echo, { n: 2 });
    const missing = await get('nosuchjob', acmeKey);
    const tenantless = await get(id, acmeKey);
    expect(tenantless.statusCode).toBe(404);
    expect(tenantless.json().code).toBe('JOB_NOT_FOUND');
    // The caller learns nothing a missing job would not tell.
    expect(tenantless.json().detail.replace(id, 'ID')).toBe(missing.json().detail.replace('nosuchjob', 'ID'));
    expect((await get(other, globexKey)).statusCode).toBe(404);
    expect(warnings.filter((line) => line.msg.includes('without a tenant'))).toEqual([expect.objectContaining({ jobId: id })]);
  });
});
