import type { JobEvent } from '@scalable-api/core';
import type { Histogram } from 'prom-client';

/**
 * The wait (ready → started) and run (started → settled, last attempt) times of jobs, from their
 * events, into two prom-client histograms. Job events carry no durations, so this keeps when
 * each job it hears of became ready or started: one entry a job, a positive time while it waits
 * and minus its start time once it runs, updated in place (the map work per job was the largest
 * cost of the HTTP layer when it was two maps). Bounded, so jobs whose end this node never hears
 * of cannot pile up. A `job.resumed` parent keeps its start: its run time spans its children.
 */
export class JobTimings {
  private readonly since = new Map<string, number>();

  constructor(
    private readonly wait: Histogram,
    private readonly run: Histogram,
    private readonly maxTracked = 100_000,
  ) {}

  observe(event: JobEvent): void {
    switch (event.type) {
      case 'job.queued':
      case 'job.retrying':
        this.remember(event.id, event.type === 'job.retrying' ? Math.max(event.at, event.runAt) : event.at);
        break;
      case 'job.started': {
        const ready = this.since.get(event.id);
        if (ready !== undefined) {
          if (ready > 0) this.wait.observe(Math.max(0, event.at - ready) / 1000);
          // Moved to the newest place, so the bound forgets jobs that waited longest, not ones
          // that just started (a full queue would otherwise push out every running job).
          this.since.delete(event.id);
          this.since.set(event.id, -event.at);
        } else if (this.since.size < this.maxTracked) {
          // A job whose ready time was forgotten does not push out one still waiting.
          this.since.set(event.id, -event.at);
        }
        break;
      }
      case 'job.completed':
      case 'job.failed':
      case 'job.cancelled': {
        const since = this.since.get(event.id);
        if (since === undefined) break;
        this.since.delete(event.id);
        if (since < 0) this.run.observe(Math.max(0, event.at + since) / 1000);
        break;
      }
      default:
        break;
    }
  }

  private remember(id: string, value: number): void {
    if (this.since.size >= this.maxTracked && !this.since.has(id)) {
      const oldest = this.since.keys().next().value;
      if (oldest !== undefined) this.since.delete(oldest);
    }
    this.since.set(id, value);
  }
}
