import { createJobSystem, defineJob, type JobEvent, type JobSystem } from '@scalable-api/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { RecentJobs } from '../src/dashboard/recent-jobs.js';
import { ThroughputSeries } from '../src/dashboard/throughput-series.js';
import type { FeedMessage, OverviewAnswer } from '../src/dashboard/feed-message.js';
import { jobsPlugin, type JobsPluginOptions } from '../src/index.js';
import { listen as listenOn } from './listen.js';

const event = (id: string, type: 'job.queued' | 'job.completed', at: number, name = 'echo'): JobEvent =>
  (type === 'job.queued'
    ? { type, status: 'queued', id, name, seq: 1, at, parentId: undefined, rootId: id }
    : { type, status: 'completed', id, name, seq: 2, at, parentId: undefined, rootId: id, output: null }) as JobEvent;

describe('RecentJobs', () => {
  it('keeps the newest jobs up to its capacity and lists them newest first, filtered', async () => {
    const recent = new RecentJobs(3);
    for (let i = 1; i <= 5; i++) recent.observe(event(`j${i}`, 'job.queued', i, i % 2 ? 'odd' : 'even'));
    recent.observe(event('j4', 'job.completed', 6, 'even'));
    expect(recent.size).toBe(3);
    expect((await recent.query({ limit: 10 })).jobs.map((j) => j.id)).toEqual(['j5', 'j4', 'j3']);
    expect(await recent.query({ limit: 10, name: 'odd' })).toMatchObject({ matched: 2, jobs: [{ id: 'j5' }, { id: 'j3' }] });
    expect(await recent.query({ limit: 1, status: 'queued' })).toMatchObject({ matched: 2, jobs: [{ id: 'j5' }] });
    expect((await recent.query({ limit: 10, status: 'completed' })).jobs).toMatchObject([{ id: 'j4', progress: 1 }]);
  });
});

describe('ThroughputSeries', () => {
  const depth = { queued: 3, delayed: 1, running: 2, waitingChildren: 0 };

  it('takes rates from the counters per second and latency percentiles from first seen to completed', () => {
    const series = new ThroughputSeries(2);
    series.prime({ completed: 10, failed: 1, submitted: 20 });
    for (let i = 0; i < 100; i++) series.observe(event(`j${i}`, 'job.queued', 1_000));
    for (let i = 0; i < 100; i++) series.observe(event(`j${i}`, 'job.completed', 1_000 + i + 1));
    expect(series.tick(2_000, { ...depth, completed: 110, failed: 3, submitted: 120 })).toMatchObject({
      submitted: 100,
      completed: 100,
      failed: 2,
      queued: 4,
      running: 2,
      p50: 51,
      p95: 96,
      max: 100,
    });
    series.tick(3_000, { ...depth, completed: 110, failed: 3, submitted: 120 });
    series.tick(4_000, { ...depth, completed: 115, failed: 3, submitted: 120 });
    // Bounded: the oldest second went.
    expect(series.history().map((p) => [p.t, p.completed, p.p50])).toEqual([
      [3_000, 0, null],
      [4_000, 5, null],
    ]);
  });

  it('follows at most trackPerSecond new jobs a second for latency', () => {
    const series = new ThroughputSeries(10, 10);
    for (let i = 0; i < 100; i++) series.observe(event(`j${i}`, 'job.queued', 1_000));
    for (let i = 0; i < 100; i++) series.observe(event(`j${i}`, 'job.completed', 1_000 + i + 1));
    // Only the first ten were followed: their latencies are 1..10 ms.
    expect(series.tick(2_000, { ...depth, completed: 0, failed: 0, submitted: 0 })).toMatchObject({ max: 10, p50: 6 });
  });
});

describe('RecentJobs admission', () => {
  it('samples new jobs past admitPerSecond, but always keeps failed, retried and cancelled ones', async () => {
    const recent = new RecentJobs(1_000, 5);
    for (let i = 0; i < 20; i++) recent.observe(event(`j${i}`, 'job.queued', 1_000));
    expect(recent.size).toBe(5);
    expect(recent.skipped).toBe(15);
    recent.observe(event('j10', 'job.completed', 1_100));
    expect(recent.get('j10')).toBeUndefined();
    recent.observe({
      type: 'job.failed',
      status: 'failed',
      id: 'j11',
      name: 'echo',
      seq: 3,
      at: 1_200,
      parentId: undefined,
      rootId: 'j11',
      error: { code: 'JOB_FAILED', message: 'x' },
    });
    expect(recent.get('j11')).toMatchObject({ status: 'failed' });
    // A new second admits again.
    recent.observe(event('k1', 'job.queued', 2_000));
    expect(recent.get('k1')).toBeDefined();
  });
});

const apps: { app: FastifyInstance; system: JobSystem }[] = [];
afterEach(async () => {
  for (const { app, system } of apps.splice(0)) {
    await app.close();
    await system.stop({ drain: false, timeoutMs: 0 });
  }
});

const echo = defineJob({ name: 'echo', run: (input: Record<string, unknown>) => input });
const hold = defineJob({
  name: 'hold',
  run: (_input: unknown, ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true })),
});

async function server(plugin: Partial<JobsPluginOptions>, workers = 2): Promise<string> {
  const system = createJobSystem({ jobs: [echo, hold], workers });
  await system.start();
  const app = Fastify({ logger: false });
  await app.register(jobsPlugin, { system, prefix: '/jobs', ...plugin });
  apps.push({ app, system });
  return listenOn(app);
}

describe('jobsPlugin dashboard', () => {
  it('is not there unless asked for', async () => {
    const base = await server({});
    expect((await fetch(`${base}/jobs/dashboard/api/overview`)).status).toBe(404);
  });

  it('draws at most 256 worker tiles, however many workers the node has', async () => {
    const base = await server({ dashboard: true }, 300);
    const { overview } = (await (await fetch(`${base}/jobs/dashboard/api/overview`)).json()) as {
      overview: { actors: { workers: unknown[]; workersTotal: number } };
    };
    expect(overview.actors.workers).toHaveLength(256);
    expect(overview.actors.workersTotal).toBe(300);
  });

  it('sends at most updatesPerSecond live messages per connection, however many events happen', async () => {
    const base = await server({ dashboard: { updatesPerSecond: 5 } });
    const controller = new AbortController();
    const response = await fetch(`${base}/jobs/dashboard/api/live`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const started = performance.now();
    let messages = 0;
    let lastCompleted = 0;
    let text = '';
    // Hundreds of job events (several each) while the stream is read; the stream must coalesce them.
    const load = (async () => {
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            fetch(`${base}/jobs/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) }),
          ),
        );
      }
    })();
    while (lastCompleted < 500) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      const frames = text.split('\n\n');
      text = frames.pop()!;
      for (const frame of frames) {
        if (!frame.startsWith('data: ')) continue;
        messages++;
        lastCompleted = (JSON.parse(frame.slice(6)) as { overview: { stats: { completed: number } } }).overview.stats.completed;
      }
    }
    const elapsed = performance.now() - started;
    controller.abort();
    await load;
    expect(lastCompleted).toBe(500);
    // One message on connect, then one per tick of 200 ms at most.
    expect(messages).toBeLessThanOrEqual(1 + Math.floor(elapsed / 200) + 1);
    expect(messages).toBeGreaterThan(1);
  });

  it('lists only the caller tenant jobs, and a job page of another tenant is a 404', async () => {
    const keys = [
      { key: 'tenant-a-key-0123456789', tenant: 'a' },
      { key: 'tenant-b-key-0123456789', tenant: 'b' },
    ];
    const base = await server({ dashboard: true, auth: { keys } });
    const submit = async (key: string) => {
      const response = await fetch(`${base}/jobs/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key, prefer: 'wait=5' },
        body: '{}',
      });
      return ((await response.json()) as { id: string }).id;
    };
    const ofA = await submit(keys[0]!.key);
    const ofB = await submit(keys[1]!.key);
    const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`me:${key}`).toString('base64')}` });
    const overview = (await (await fetch(`${base}/jobs/dashboard/api/overview`, { headers: basic(keys[0]!.key) })).json()) as {
      list: { jobs: { id: string }[] };
    };
    expect(overview.list.jobs.map((j) => j.id)).toEqual([ofA]);
    expect((await fetch(`${base}/jobs/dashboard/api/jobs/${ofB}`, { headers: basic(keys[0]!.key) })).status).toBe(404);
    expect((await fetch(`${base}/jobs/dashboard/api/jobs/${ofA}`, { headers: basic(keys[0]!.key) })).status).toBe(200);
    // Bearer and x-api-key work as on the API.
    expect((await fetch(`${base}/jobs/dashboard/api/jobs/${ofB}`, { headers: { 'x-api-key': keys[1]!.key } })).status).toBe(200);
    // Actions need the dashboard's header: a cross-site form cannot send it.
    expect((await fetch(`${base}/jobs/dashboard/api/jobs/${ofA}/retry`, { method: 'POST', headers: basic(keys[0]!.key) })).status).toBe(400);
  });

  it("shows a tenant only its own jobs: no other tenant's job on a worker tile, counts of its own jobs, no node-wide charts", async () => {
    const keys = [
      { key: 'tenant-a-key-0123456789', tenant: 'a' },
      { key: 'tenant-b-key-0123456789', tenant: 'b' },
    ];
    const base = await server({ dashboard: true, auth: { keys } });
    const submit = async (key: string, name: string, wait = '') => {
      const response = await fetch(`${base}/jobs/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key, ...(wait ? { prefer: wait } : {}) },
        body: '{}',
      });
      return ((await response.json()) as { id: string }).id;
    };
    await submit(keys[0]!.key, 'echo', 'wait=5');
    const secret = await submit(keys[1]!.key, 'hold');
    for (let i = 0; i < 3; i++) await submit(keys[1]!.key, 'echo', 'wait=5');
    type Answer = OverviewAnswer;
    const overviewOf = async (key: string) =>
      (await (await fetch(`${base}/jobs/dashboard/api/overview`, { headers: { 'x-api-key': key } })).json()) as Answer;
    await expect
      .poll(async () => (await overviewOf(keys[1]!.key)).overview.actors!.workers.some((w) => w.job?.id === secret), { timeout: 10_000 })
      .toBe(true);

    const { overview, points } = await overviewOf(keys[0]!.key);
    expect(JSON.stringify(overview)).not.toContain(secret);
    expect(overview.scope).toBe('tenant');
    expect(overview.actors!.workers.filter((w) => w.hidden)).toHaveLength(1);
    expect(overview.stats).toMatchObject({ completed: 1, running: 0, queued: 0 });
    expect(overview.recent.byStatus).toEqual({ completed: 1 });
    expect(points).toEqual([]);
    // The live feed's first message says the same.
    const controller = new AbortController();
    const live = await fetch(`${base}/jobs/dashboard/api/live`, { headers: { 'x-api-key': keys[0]!.key }, signal: controller.signal });
    const reader = live.body!.getReader();
    let text = '';
    while (!text.includes('\n\ndata: ') && !/data: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const message = JSON.parse(/data: (.*)\n\n/.exec(text)![1]!) as FeedMessage;
    expect(message.overview.scope).toBe('tenant');
    expect(message.overview.stats.completed).toBe(1);
    expect(text).not.toContain(secret);
  });

  it("draws its charts from the node's live state as the runtime samples it, without polling stats()", async () => {
    const system = createJobSystem({ jobs: [echo, hold], workers: 2, sampleMs: 100 });
    await system.start();
    let polls = 0;
    const stats = system.stats.bind(system);
    system.stats = () => {
      polls++;
      return stats();
    };
    const app = Fastify({ logger: false });
    await app.register(jobsPlugin, { system, prefix: '/jobs', dashboard: true });
    apps.push({ app, system });
    await app.ready();
    for (let i = 0; i < 5; i++)
      await app.inject({ method: 'POST', url: '/jobs/echo', headers: { 'content-type': 'application/json' }, payload: '{}' });
    // No tab is open: the charts still get a point per sample of the runtime's live state.
    await expect
      .poll(async () => (await app.inject('/jobs/dashboard/api/overview')).json<OverviewAnswer>().points.reduce((sum, p) => sum + p.submitted, 0), {
        timeout: 10_000,
      })
      .toBe(5);
    await expect
      .poll(async () => (await app.inject('/jobs/dashboard/api/overview')).json<OverviewAnswer>().points.length, { timeout: 10_000 })
      .toBeGreaterThan(5);
    // Only the overview requests above read stats(); the feed itself never polls it.
    const idle = polls;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(polls).toBe(idle);
  });
});
