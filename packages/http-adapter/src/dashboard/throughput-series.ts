import type { JobEvent, JobSystemStats } from '@scalable-api/core';

/** One second of the system's life, as the charts draw it. */
export interface SeriesPoint {
  /** Epoch ms at the end of the second. */
  t: number;
  queued: number;
  running: number;
  waitingChildren: number;
  /** Jobs that settled in this second, as seen from this node's event stream. */
  completed: number;
  failed: number;
  submitted: number;
  /** End-to-end latency (first seen to settled) of the jobs that completed in this second, ms. */
  p50: number | null;
  p95: number | null;
  max: number | null;
}

/** Latencies kept per second before the percentiles are taken: a fixed cost under any rate. */
const sampleCap = 2_048;

/**
 * Per-second history for the dashboard's charts, the last `seconds` of it. Counters come from job
 * events; queue depth from `stats()` once a second. Latency percentiles use a reservoir sample
 * so a burst of a hundred thousand completions costs the same memory as a quiet second.
 */
export class ThroughputSeries {
  private readonly points: SeriesPoint[] = [];
  private readonly firstSeen = new Map<string, number>();
  private current = { completed: 0, failed: 0, submitted: 0, seen: 0, latencies: [] as number[] };

  constructor(
    readonly seconds = 300,
    private readonly maxTracked = 100_000,
  ) {}

  observe(event: JobEvent): void {
    switch (event.type) {
      case 'job.queued':
      case 'job.delayed':
        if (!this.firstSeen.has(event.id)) {
          // Bounded: jobs whose end this node never hears of must not pile up.
          if (this.firstSeen.size >= this.maxTracked) {
            const oldest = this.firstSeen.keys().next().value;
            if (oldest !== undefined) this.firstSeen.delete(oldest);
          }
          this.firstSeen.set(event.id, event.at);
          if (event.parentId === undefined) this.current.submitted++;
        }
        return;
      case 'job.completed':
      case 'job.failed':
      case 'job.cancelled': {
        if (event.type === 'job.completed') this.current.completed++;
        else if (event.type === 'job.failed') this.current.failed++;
        const start = this.firstSeen.get(event.id);
        this.firstSeen.delete(event.id);
        if (start !== undefined && event.type === 'job.completed') this.sample(event.at - start);
        return;
      }
      default:
        return;
    }
  }

  private sample(ms: number): void {
    const c = this.current;
    c.seen++;
    if (c.latencies.length < sampleCap) c.latencies.push(ms);
    else {
      const slot = Math.floor(Math.random() * c.seen);
      if (slot < sampleCap) c.latencies[slot] = ms;
    }
  }

  /** Closes the current second with the queue depths read now. */
  tick(now: number, stats: Pick<JobSystemStats, 'queued' | 'delayed' | 'running' | 'waitingChildren'>): SeriesPoint {
    const c = this.current;
    const sorted = c.latencies.sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    const point: SeriesPoint = {
      t: now,
      queued: stats.queued + stats.delayed,
      running: stats.running,
      waitingChildren: stats.waitingChildren,
      completed: c.completed,
      failed: c.failed,
      submitted: c.submitted,
      p50: at(0.5),
      p95: at(0.95),
      max: sorted.length === 0 ? null : sorted[sorted.length - 1]!,
    };
    this.points.push(point);
    if (this.points.length > this.seconds) this.points.shift();
    this.current = { completed: 0, failed: 0, submitted: 0, seen: 0, latencies: [] };
    return point;
  }

  history(): SeriesPoint[] {
    return this.points.slice();
  }
}
