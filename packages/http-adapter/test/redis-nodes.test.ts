import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsBlobStore, createJobSystem } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { jobsPlugin } from '../src/index.js';
import { testJobs } from './setup.js';
import { listen as listenOn } from './listen.js';

interface Node {
  app: FastifyInstance;
  system: ReturnType<typeof createJobSystem>;
  base: string;
}

const prefix = testPrefix();
let dir: string;
let a: Node;
let b: Node;

async function node(): Promise<Node> {
  const blobs = await createFsBlobStore({ dir });
  const system = createJobSystem({ jobs: testJobs(blobs), workers: 2, store: createRedisStore({ url: redisUrl, prefix }) });
  await system.start();
  const app = Fastify({ logger: false });
  await app.register(jobsPlugin, { system, blobs, prefix: '/jobs' });
  return { app, system, base: await listenOn(app) };
}

async function stop(n: Node | undefined): Promise<void> {
  if (!n) return;
  await n.app.close();
  await n.system.stop({ drain: false, timeoutMs: 1_000 });
  await n.system.store.close();
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

await describeWithRedis('jobsPlugin on two nodes sharing a Redis store', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'http-adapter-redis-'));
    a = await node();
    b = await node();
  });
  afterAll(async () => {
    await stop(a);
    await stop(b);
    await rm(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  it('accepts on one node as durable and answers status from the other', async () => {
    const res = await fetch(`${a.base}/jobs/echo`, json({ from: 'a' }));
    expect(res.status).toBe(202);
    const { id, durable } = (await res.json()) as { id: string; durable: boolean };
    expect(durable).toBe(true);
    await expect
      .poll(async () => ((await (await fetch(`${b.base}/jobs/${id}`)).json()) as { status: string }).status, { timeout: 15_000 })
      .toBe('completed');
  });

  it('streams events on another node than the one that took the job, resumable there', async () => {
    const { id } = (await (await fetch(`${a.base}/jobs/steps`, json({ n: 4, ms: 50 }))).json()) as { id: string };
    const first = await fetch(`${b.base}/jobs/${id}/events`);
    const reader = first.body!.getReader();
    let text = '';
    while (!/id: 2\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const resumed = await (await fetch(`${b.base}/jobs/${id}/events`, { headers: { 'last-event-id': '2' } })).text();
    const ids = [...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids[0]).toBe(3);
    expect(ids).toEqual(ids.map((_, i) => i + 3));
    expect(resumed).toMatch(/event: job\.completed/);
  });

  it('cancels from any node, and shares idempotency keys across nodes', async () => {
    const { id } = (await (await fetch(`${a.base}/jobs/sleep`, json({ ms: 60_000 }))).json()) as { id: string };
    await expect
      .poll(async () => ((await (await fetch(`${b.base}/jobs/${id}`)).json()) as { status: string }).status, { timeout: 15_000 })
      .toBe('running');
    const cancel = await fetch(`${b.base}/jobs/${id}`, { method: 'DELETE' });
    // Exactly what the memory store answers for a running job (job-routes.test.ts).
    expect(cancel.status).toBe(202);
    expect(await cancel.json()).toEqual({ id, outcome: 'cancelling', status: 'running' });
    await expect
      .poll(async () => ((await (await fetch(`${a.base}/jobs/${id}`)).json()) as { status: string }).status, { timeout: 15_000 })
      .toBe('cancelled');

    const key = { 'idempotency-key': `k-${prefix}` };
    const onA = (await (await fetch(`${a.base}/jobs/echo`, json({ n: 1 }, key))).json()) as { id: string };
    const onB = await fetch(`${b.base}/jobs/echo`, json({ n: 1 }, key));
    expect(((await onB.json()) as { id: string }).id).toBe(onA.id);
    const conflict = await fetch(`${b.base}/jobs/echo`, json({ n: 2 }, key));
    expect(conflict.status).toBe(422);
    expect(((await conflict.json()) as { code: string }).code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('answers 503 STORE_UNAVAILABLE with Retry-After when its store is gone (run last: it breaks node b)', async () => {
    const { id } = (await (await fetch(`${a.base}/jobs/echo`, json({}))).json()) as { id: string };
    await b.system.store.close();
    for (const [method, path] of [
      ['GET', `/jobs/${id}`],
      ['GET', `/jobs/${id}/tree`],
      ['DELETE', `/jobs/${id}`],
      ['GET', '/metrics'],
    ] as const) {
      const res = await fetch(`${b.base}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { code: string }).code).toBe('STORE_UNAVAILABLE');
    }
  });
});
