import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, isProblem, JobFailedError, ProblemError } from '../src/index.js';
import type { jobs } from './server-jobs.js';
import { setup, type Setup } from './setup.js';

let s: Setup;
afterEach(async () => {
  await s?.close();
});

describe('client.submit', () => {
  it('answers with the accepted job, whose result() is its output', async () => {
    s = await setup();
    const job = await s.client.submit('add', { a: 1, b: 2 });
    expect(job).toMatchObject({ created: true, durable: false });
    expect(job.id).toMatch(/^[\w-]{10,}$/);
    expect(job.url).toBe(`${s.baseUrl}/${job.id}`);
    expect(['queued', 'running', 'completed']).toContain(job.status);
    await expect(job.result()).resolves.toEqual({ sum: 3 });
    await expect(s.client.get(job.id)).resolves.toMatchObject({ id: job.id, name: 'add', status: 'completed', output: { sum: 3 } });
  });

  it('returns the same job for the same Idempotency-Key (created false)', async () => {
    s = await setup();
    const first = await s.client.submit('add', { a: 1, b: 1 }, { idempotencyKey: 'order-17' });
    const again = await s.client.submit('add', { a: 1, b: 1 }, { idempotencyKey: 'order-17' });
    expect(again.id).toBe(first.id);
    expect([first.created, again.created]).toEqual([true, false]);
  });

  it('submits a job that takes no input without a body', async () => {
    s = await setup();
    const job = await s.client.submit('fail');
    const error = await job.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ code: 'JOB_FAILED', jobId: job.id, status: 'failed' });
  });

  it('throws INPUT_INVALID as a typed problem with every issue and its path', async () => {
    s = await setup();
    // Not what the types allow: the server is the one that refuses it here.
    const error = await s.client.submit('add', { a: 'one', b: null } as never).catch((e: unknown) => e);
    expect(isProblem(error, 'INPUT_INVALID')).toBe(true);
    const problem = (error as ProblemError).problem;
    expect(problem).toMatchObject({ status: 422, code: 'INPUT_INVALID', instance: '/jobs/add' });
    expect(problem.issues?.map((issue) => issue.path)).toEqual([['a'], ['b']]);
  });

  it('throws JOB_TYPE_UNKNOWN for a name the server does not have', async () => {
    s = await setup();
    const error = await s.client.submit('nope' as 'add', { a: 1, b: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProblemError);
    expect(error).toMatchObject({ code: 'JOB_TYPE_UNKNOWN', status: 404 });
  });
});

describe('client.wait', () => {
  it('sends Prefer: wait and gives the outcome when the job settles within it', async () => {
    s = await setup();
    const job = await s.client.wait('add', { a: 2, b: 3 }, { seconds: 10 });
    expect(job.outcome).toEqual({ status: 'completed', output: { sum: 5 } });
    expect(s.requests.find((r) => r.method === 'POST')?.prefer).toBe('wait=10');
    const failed = await s.client.wait('fail', undefined, { seconds: 10 });
    expect(failed.outcome).toMatchObject({ status: 'failed', error: { code: 'JOB_FAILED' } });
  });

  it('gives no outcome, and a handle to go on with, when the job outlasts the wait', async () => {
    s = await setup();
    const job = await s.client.wait('sleep', { ms: 1_500 }, { seconds: 1 });
    expect(job.outcome).toBeUndefined();
    expect(job.status).not.toBe('completed');
    await expect(job.result()).resolves.toEqual({ sleptMs: 1_500 });
  });
});

describe('client.upload', () => {
  it('sends a binary body to a job that accepts it', async () => {
    s = await setup();
    const bytes = new Uint8Array(10_000).map((_, i) => i % 251);
    const job = await s.client.upload('measure', bytes, { contentType: 'image/png' });
    await expect(job.result()).resolves.toMatchObject({ bytes: 10_000, contentType: 'image/png' });
  });

  it('is refused with 415 for a job that takes JSON only', async () => {
    s = await setup();
    const error = await s.client.upload('add' as 'measure', new Uint8Array([1, 2, 3])).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
  });
});

describe('client errors', () => {
  it('throws JOB_NOT_FOUND for an unknown id and for another tenant’s job', async () => {
    s = await setup({
      plugin: {
        auth: {
          keys: [
            { key: 'tenant-a-key-0123456789', tenant: 'a' },
            { key: 'tenant-b-key-0123456789', tenant: 'b' },
          ],
        },
      },
      client: { apiKey: 'tenant-a-key-0123456789' },
    });
    const mine = await s.client.submit('add', { a: 1, b: 1 });
    await expect(s.client.get('no-such-job')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', status: 404 });
    const other = createClient<typeof jobs>({ baseUrl: s.baseUrl, apiKey: 'tenant-b-key-0123456789' });
    await expect(other.get(mine.id)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    await expect(s.client.get(mine.id)).resolves.toMatchObject({ id: mine.id });
  });

  it('throws UNAUTHORIZED without a valid key, and sends a bearer token when given one', async () => {
    s = await setup({ plugin: { auth: { keys: [{ key: 'tenant-a-key-0123456789', tenant: 'a' }] } } });
    await expect(s.client.submit('add', { a: 1, b: 1 })).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    const bearer = createClient<typeof jobs>({ baseUrl: s.baseUrl, bearer: 'tenant-a-key-0123456789' });
    await expect(bearer.submit('add', { a: 1, b: 1 })).resolves.toMatchObject({ created: true });
  });

  it('turns an error answer that is not a problem document into UNEXPECTED_RESPONSE', async () => {
    // A proxy in front of the server that answers with its own error page.
    const proxy = createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const client = createClient<typeof jobs>({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/jobs` });
      const error = await client.get('some-job').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProblemError);
      expect(error).toMatchObject({ code: 'UNEXPECTED_RESPONSE', status: 502 });
      expect((error as ProblemError).problem.detail).toContain('Bad gateway');
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
