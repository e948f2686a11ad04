import type { JobEvent, JobSystemStats } from '@scalable-api/core';

/** One second of the system's life, as the charts draw it. */
export interface SeriesPoint {
  /** Epoch ms at the end of the second. */
  t: number;
  queued: number;
  running: number;
  waitingChildren: number;
  /** Jobs that settled in this second, as this node's counters saw them (`stats()`). */
  completed: number;
  failed: number;
  /** Jobs this node accepted in this second. */
  submitted: number;
  /** End-to-end latency (first seen to completed) of sampled jobs that completed in this second, ms. */
  p50: number | null;
  p95: number | null;
  max: number | null;
}

type Counters = Pick<JobSystemStats, 'completed' | 'failed' | 'submitted'>;
export type SeriesStats = Counters & Pick<JobSystemStats, 'queued' | 'delayed' | 'running' | 'waitingChildren'>;

/** Latencies kept per second before the percentiles are taken: a fixed cost under any rate. */
const sampleCap = 2_048;

/**
 * Per-second history for the dashboard's charts, the last `seconds` of it. Rates and depths come
 * from `stats()` once a second (differences of its counters), so they cost nothing per job.
 * Latency needs each job's start and end: it follows at most `trackPerSecond` new jobs a second
 * (all of them on a quiet node, a sample on a busy one) and takes percentiles from a bounded
 * reservoir, so a burst of a hundred thousand completions costs what a quiet second does.
 */
export class ThroughputSeries {
  private readonly points: SeriesPoint[] = [];
  private readonly firstSeen = new Map<string, number>();
  private last: Counters | undefined;
  private second = 0;
  private tracked = 0;
  private seen = 0;
  private latencies: number[] = [];

  constructor(
    readonly seconds = 300,
    private readonly trackPerSecond = 1_000,
    private readonly maxTracked = 100_000,
  ) {}

  observe(event: JobEvent): void {
    switch (event.type) {
      case 'job.queued':
      case 'job.delayed': {
        const second = Math.floor(event.at / 1000);
        if (second !== this.second) {
          this.second = second;
          this.tracked = 0;
        }
        // Bounded twice: per second, and in all (jobs whose end this node never hears of).
        if (++this.tracked > this.trackPerSecond || this.firstSeen.size >= this.maxTracked) return;
        if (!this.firstSeen.has(event.id)) this.firstSeen.set(event.id, event.at);
        return;
      }
      case 'job.completed':
      case 'job.failed':
      case 'job.cancelled': {
        if (this.firstSeen.size === 0) return;
        const start = this.firstSeen.get(event.id);
        if (start === undefined) return;
        this.firstSeen.delete(event.id);
        if (event.type === 'job.completed') this.sample(event.at - start);
        return;
      }
      default:
        return;
    }
  }

  private sample(ms: number): void {
    this.seen++;
    if (this.latencies.length < sampleCap) this.latencies.push(ms);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < sampleCap) this.latencies[slot] = ms;
    }
  }

  /** The counters the first second is measured from (else the first point reads zero). */
  prime(stats: Counters): void {
    this.last ??= { completed: stats.completed, failed: stats.failed, submitted: stats.submitted };
  }

  /** Closes the current second with the counters and queue depths read now. */
  tick(now: number, stats: SeriesStats): SeriesPoint {
    const sorted = this.latencies.sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    const last = this.last ?? stats;
    const point: SeriesPoint = {
      t: now,
      queued: stats.queued + stats.delayed,
      running: stats.running,
      waitingChildren: stats.waitingChildren,
      completed: stats.completed - last.completed,
      failed: stats.failed - last.failed,
      submitted: stats.submitted - last.submitted,
      p50: at(0.5),
      p95: at(0.95),
      max: sorted.length === 0 ? null : sorted[sorted.length - 1]!,
    };
    this.last = { completed: stats.completed, failed: stats.failed, submitted: stats.submitted };
    this.points.push(point);
    if (this.points.length > this.seconds) this.points.shift();
    this.latencies = [];
    this.seen = 0;
    return point;
  }

  history(): SeriesPoint[] {
    return this.points.slice();
  }
}
