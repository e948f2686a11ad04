import type { JobEvent, JobSystemStats } from '@scalable-api/core';
import { describe, expect, it } from 'vitest';
import { JobsMetrics } from '../src/jobs-metrics.js';

const base = { name: 'echo', parentId: undefined, seq: 1 };
const ev = (id: string, type: JobEvent['type'], at: number, extra: Record<string, unknown> = {}) =>
  ({ ...base, id, rootId: id, type, at, status: 'queued', ...extra }) as unknown as JobEvent;
const stats = {
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
  restarts: 0,
  health: 'healthy',
} as unknown as JobSystemStats;
const line = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe('JobsMetrics wait and run times', () => {
  it('times the wait from ready to start and the run from the last start to the end', () => {
    const metrics = new JobsMetrics();
    metrics.observe(ev('a', 'job.queued', 1_000));
    metrics.observe(ev('a', 'job.started', 1_250, { attempt: 1 }));
    metrics.observe(ev('a', 'job.retrying', 1_300, { runAt: 2_000 }));
    metrics.observe(ev('a', 'job.started', 2_100, { attempt: 2 }));
    metrics.observe(ev('a', 'job.completed', 2_600));
    // Cancelled while queued: waited, never ran.
    metrics.observe(ev('b', 'job.queued', 1_000));
    metrics.observe(ev('b', 'job.cancelled', 1_500));
    const text = metrics.render(stats, { sseConnections: 0, draining: false });
    expect(line(text, 'scalable_api_job_wait_seconds_count')).toBe(2);
    expect(line(text, 'scalable_api_job_wait_seconds_sum')).toBeCloseTo(0.35);
    expect(line(text, 'scalable_api_job_run_seconds_count')).toBe(1);
    expect(line(text, 'scalable_api_job_run_seconds_sum')).toBeCloseTo(0.5);
  });

  it('forgets jobs that waited longest before jobs that are running', () => {
    const metrics = new JobsMetrics(2);
    metrics.observe(ev('a', 'job.queued', 1_000));
    metrics.observe(ev('b', 'job.queued', 1_000));
    metrics.observe(ev('a', 'job.started', 1_100, { attempt: 1 }));
    metrics.observe(ev('c', 'job.queued', 1_200));
    metrics.observe(ev('a', 'job.completed', 1_400));
    const text = metrics.render(stats, { sseConnections: 0, draining: false });
    expect(line(text, 'scalable_api_job_run_seconds_count')).toBe(1);
    expect(line(text, 'scalable_api_job_run_seconds_sum')).toBeCloseTo(0.3);
  });

  it('forgets the oldest job past its bound', () => {
    const metrics = new JobsMetrics(2);
    for (const id of ['a', 'b', 'c']) metrics.observe(ev(id, 'job.queued', 1_000));
    for (const id of ['a', 'b', 'c']) metrics.observe(ev(id, 'job.started', 1_100, { attempt: 1 }));
    const text = metrics.render(stats, { sseConnections: 0, draining: false });
    expect(line(text, 'scalable_api_job_wait_seconds_count')).toBe(2);
  });
});
