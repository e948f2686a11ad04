import type { JobEvent, JobSystemStats } from '@scalable-api/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JobsMetrics, type MetricsSource } from '../src/jobs-metrics.js';
import { parseExposition, sample } from './exposition.js';

const base = { name: 'echo', parentId: undefined, seq: 1 };
const ev = (id: string, type: JobEvent['type'], at: number, extra: Record<string, unknown> = {}) =>
  ({ ...base, id, rootId: id, type, at, status: 'queued', ...extra }) as unknown as JobEvent;
const stats: JobSystemStats = {
  health: 'healthy',
  submitted: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  rejected: 0,
  queued: 0,
  delayed: 0,
  running: 0,
  waitingChildren: 0,
  workers: 1,
  idleWorkers: 1,
  waitingParents: 0,
  actors: 3,
  restarts: 0,
  rates: { submitted: 0, completed: 0, failed: 0 },
};

function source(current: () => JobSystemStats = () => stats): MetricsSource & { reads: number } {
  const s = {
    reads: 0,
    stats: async () => {
      s.reads++;
      return current();
    },
    sseConnections: () => 2,
    draining: () => false,
  };
  return s;
}

const scrape = async (metrics: JobsMetrics) => parseExposition(await metrics.render());
const histogram = (families: Awaited<ReturnType<typeof scrape>>, name: string) => {
  const [h] = families.get(name)!.metrics;
  return { count: Number(h!.count), sum: Number(h!.sum) };
};

describe('JobsMetrics', () => {
  it('reads the node’s state once per scrape, however many metrics come from it', async () => {
    const src = source();
    const metrics = new JobsMetrics(src, { defaultMetrics: false });
    const families = await scrape(metrics);
    expect(src.reads).toBe(1);
    expect(sample(families, 'scalable_api_sse_connections')).toBe(2);
    expect(sample(families, 'scalable_api_workers_idle')).toBe(1);
    await scrape(metrics);
    expect(src.reads).toBe(2);
  });

  it('follows the node’s counters as prom-client counters: they only go up, by the node’s growth', async () => {
    let current = { ...stats, completed: 5, restarts: 1 };
    const metrics = new JobsMetrics(
      source(() => current),
      { defaultMetrics: false },
    );
    let families = await scrape(metrics);
    expect(families.get('scalable_api_jobs_completed_total')?.type).toBe('COUNTER');
    expect(families.get('scalable_api_worker_restarts')?.type).toBe('COUNTER');
    expect(sample(families, 'scalable_api_jobs_completed_total')).toBe(5);
    current = { ...current, completed: 12, queued: 40 };
    families = await scrape(metrics);
    expect(sample(families, 'scalable_api_jobs_completed_total')).toBe(12);
    expect(sample(families, 'scalable_api_jobs_queued')).toBe(40);
  });

  it('times the wait from ready to start and the run from the last start to the end', async () => {
    const metrics = new JobsMetrics(source(), { defaultMetrics: false });
    metrics.observe(ev('a', 'job.queued', 1_000));
    metrics.observe(ev('a', 'job.started', 1_250, { attempt: 1 }));
    metrics.observe(ev('a', 'job.retrying', 1_300, { runAt: 2_000 }));
    metrics.observe(ev('a', 'job.started', 2_100, { attempt: 2 }));
    metrics.observe(ev('a', 'job.completed', 2_600));
    // Cancelled while queued: waited, never ran.
    metrics.observe(ev('b', 'job.queued', 1_000));
    metrics.observe(ev('b', 'job.cancelled', 1_500));
    // A parent that waited for its children and resumed: one run, from its start to its end.
    metrics.observe(ev('p', 'job.queued', 1_000));
    metrics.observe(ev('p', 'job.started', 1_000, { attempt: 1 }));
    metrics.observe(ev('p', 'job.waiting', 1_100));
    metrics.observe(ev('p', 'job.resumed', 1_900, { attempt: 1 }));
    metrics.observe(ev('p', 'job.completed', 2_000));
    const families = await scrape(metrics);
    expect(families.get('scalable_api_job_wait_seconds')?.type).toBe('HISTOGRAM');
    const wait = histogram(families, 'scalable_api_job_wait_seconds');
    expect(wait.count).toBe(3);
    expect(wait.sum).toBeCloseTo(0.35);
    const run = histogram(families, 'scalable_api_job_run_seconds');
    expect(run.count).toBe(2);
    expect(run.sum).toBeCloseTo(1.5);
  });

  it('forgets jobs that waited longest before jobs that are running', async () => {
    const metrics = new JobsMetrics(source(), { defaultMetrics: false }, 2);
    metrics.observe(ev('a', 'job.queued', 1_000));
    metrics.observe(ev('b', 'job.queued', 1_000));
    metrics.observe(ev('a', 'job.started', 1_100, { attempt: 1 }));
    metrics.observe(ev('c', 'job.queued', 1_200));
    metrics.observe(ev('a', 'job.completed', 1_400));
    const run = histogram(await scrape(metrics), 'scalable_api_job_run_seconds');
    expect(run.count).toBe(1);
    expect(run.sum).toBeCloseTo(0.3);
  });

  it('forgets the oldest jobs past its bound, half of it at a time', async () => {
    const metrics = new JobsMetrics(source(), { defaultMetrics: false }, 4);
    for (const id of ['a', 'b', 'c', 'd', 'e']) metrics.observe(ev(id, 'job.queued', 1_000));
    for (const id of ['e', 'd', 'c', 'b', 'a']) metrics.observe(ev(id, 'job.started', 1_100, { attempt: 1 }));
    // a and b went with the first half when e came; c, d and e were still known.
    expect(histogram(await scrape(metrics), 'scalable_api_job_wait_seconds').count).toBe(3);
  });

  it('counts responses and problems by bounded labels', async () => {
    const metrics = new JobsMetrics(source(), { defaultMetrics: false });
    for (let i = 0; i < 3; i++) metrics.countResponse('POST', '/jobs/echo', 202);
    metrics.countResponse('GET', '/jobs/:id', 404);
    metrics.countProblem('JOB_NOT_FOUND');
    const families = await scrape(metrics);
    expect(sample(families, 'scalable_api_http_responses_total', { method: 'POST', route: '/jobs/echo', status: '202' })).toBe(3);
    expect(sample(families, 'scalable_api_http_responses_total', { method: 'GET', route: '/jobs/:id', status: '404' })).toBe(1);
    expect(sample(families, 'scalable_api_http_problems_total', { code: 'JOB_NOT_FOUND' })).toBe(1);
    // A scrape reads the totals, it does not add them up again.
    expect(sample(await scrape(metrics), 'scalable_api_http_responses_total', { method: 'POST', route: '/jobs/echo', status: '202' })).toBe(3);
  });

  it('registers in a registry of yours, serves the rest of it, and leaves it as it found it on close', async () => {
    const registry = new Registry();
    const metrics = new JobsMetrics(source(), { registry, defaultMetrics: false });
    expect(registry.getSingleMetric('scalable_api_jobs_queued')).toBeDefined();
    metrics.close();
    expect(registry.getMetricsAsArray()).toEqual([]);
    // Registered again after a close (a test suite, a reload): no duplicate-name error.
    new JobsMetrics(source(), { registry, defaultMetrics: false }).close();
  });
});
