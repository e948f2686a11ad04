import { afterEach, describe, expect, it } from 'vitest';
import { createClient, isProblem, type ProblemError } from '../src/index.js';
import type { jobs } from './server-jobs.js';
import { setup, type Setup } from './setup.js';
import { startTcpRelay, type TcpRelay } from './tcp-relay.js';

let s: Setup;
let relay: TcpRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  await s?.close();
});

/** One worker busy for `ms` and the queue (bound 1) full behind it: the next submit is refused with QUEUE_FULL. */
async function fillQueue(ms: number) {
  const running = await s.client.submit('sleep', { ms });
  for await (const event of running.events()) if (event.type === 'job.started') break;
  await s.client.submit('sleep', { ms: 0 });
}

const posts = () => s.requests.filter((r) => r.method === 'POST').map((r) => r.status);

describe('Retry-After', () => {
  it('is honoured: a submit refused with 503 QUEUE_FULL is sent again after the delay and gets in', async () => {
    s = await setup({ system: { workers: 1, queue: { limit: 1 } } });
    await fillQueue(1_200);
    const job = await s.client.submit('add', { a: 1, b: 2 });
    await expect(job.result()).resolves.toEqual({ sum: 3 });
    const statuses = posts();
    expect(statuses.slice(0, 2)).toEqual([202, 202]);
    expect(statuses.slice(2).filter((status) => status === 503).length).toBeGreaterThanOrEqual(1);
    expect(statuses.at(-1)).toBe(202);
  });

  it('is not waited for with retry: false, nor past maxDelayMs: the problem comes at once, with retryAfter', async () => {
    s = await setup({ system: { workers: 1, queue: { limit: 1 } } });
    await fillQueue(5_000);
    const noRetry = createClient<typeof jobs>({ baseUrl: s.baseUrl, retry: false });
    const error = await noRetry.submit('add', { a: 1, b: 2 }).catch((e: unknown) => e);
    expect(isProblem(error, 'QUEUE_FULL')).toBe(true);
    expect((error as ProblemError).problem).toMatchObject({ status: 503, retryAfter: 1 });
    const impatient = createClient<typeof jobs>({ baseUrl: s.baseUrl, retry: { maxDelayMs: 500 } });
    await expect(impatient.submit('add', { a: 1, b: 2 })).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(posts()).toEqual([202, 202, 503, 503]);
  });

  it('is honoured on 429 RATE_LIMITED, up to `attempts` retries', async () => {
    s = await setup({ plugin: { limits: { rate: { max: 1, timeWindowMs: 1_000 } } } });
    await s.client.submit('add', { a: 1, b: 1 });
    const job = await s.client.submit('add', { a: 2, b: 2 });
    expect(job.created).toBe(true);
    expect(posts()[1]).toBe(429);
    expect(posts().at(-1)).toBe(202);
    const once = createClient<typeof jobs>({ baseUrl: s.baseUrl, retry: { attempts: 0 } });
    await expect(once.submit('add', { a: 3, b: 3 })).rejects.toMatchObject({ code: 'RATE_LIMITED', status: 429 });
  });
});

describe('network failures', () => {
  it('are retried for reads, and for a submit only when it carries an Idempotency-Key', async () => {
    s = await setup();
    relay = await startTcpRelay(s.baseUrl);
    const client = createClient<typeof jobs>({ baseUrl: `${relay.origin}/jobs` });
    const job = await s.client.submit('add', { a: 1, b: 1 });

    relay.dropNext(2);
    await expect(client.get(job.id)).resolves.toMatchObject({ id: job.id });

    relay.dropNext(1);
    await expect(client.submit('add', { a: 1, b: 1 })).rejects.toThrow(TypeError);

    relay.dropNext(1);
    const keyed = await client.submit('add', { a: 1, b: 1 }, { idempotencyKey: 'retry-me' });
    await expect(keyed.result()).resolves.toEqual({ sum: 2 });
  });
});
