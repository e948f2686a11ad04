import type { JobEvent } from '@scalable-api/core';
import type { Histogram } from 'prom-client';

/** A histogram's one label set, bound once (prom-client's `labels()`). */
type Bound = ReturnType<Histogram['labels']>;

/**
 * The wait (ready → started) and run (started → settled, last attempt) times of jobs, from their
 * events, into two prom-client histograms. Job events carry no durations, so this keeps when
 * each job it hears of became ready or started: one entry a job, a positive time while it waits
 * and minus its start time once it runs. A `job.resumed` parent keeps its start: its run time
 * spans its children.
 *
 * Bounded, so jobs whose end this node never hears of cannot pile up, and in two generations
 * rather than one map that forgets its oldest entry each time it is full: that took the oldest
 * through `keys().next()`, which walks over every entry deleted since the map was last rehashed,
 * and with a backlog past the bound it cost ~5 µs a job (bench/metrics-cost.ts at 200,000). Every
 * write goes to the young generation; when it holds half the bound it becomes the old one and the
 * old one is dropped whole, so what is forgotten is still the longest unheard of. A job that
 * starts is written again (to the young one), so a deep queue pushes out waiting jobs before
 * running ones.
 */
export class JobTimings {
  private young = new Map<string, number>();
  private old = new Map<string, number>();
  private readonly half: number;
  // Bound once: a call of `observe(value)` makes a closure and a labels object every time.
  private readonly wait: Bound;
  private readonly run: Bound;

  constructor(wait: Histogram, run: Histogram, maxTracked = 100_000) {
    this.wait = wait.labels();
    this.run = run.labels();
    this.half = Math.max(1, Math.floor(maxTracked / 2));
  }

  observe(event: JobEvent): void {
    switch (event.type) {
      case 'job.queued':
        this.remember(event.id, event.at);
        break;
      case 'job.retrying':
        this.old.delete(event.id);
        this.remember(event.id, Math.max(event.at, event.runAt));
        break;
      case 'job.started': {
        // Usually still in the young generation: its entry is overwritten where it is (one lookup
        // and one write, not a lookup, a delete and an insert that may rehash the map).
        const young = this.young.get(event.id);
        const ready = young ?? this.take(event.id);
        if (ready !== undefined && ready > 0) this.wait.observe(Math.max(0, event.at - ready) / 1000);
        if (young !== undefined) this.young.set(event.id, -event.at);
        else this.remember(event.id, -event.at);
        break;
      }
      case 'job.completed':
      case 'job.failed':
      case 'job.cancelled': {
        const since = this.take(event.id);
        if (since !== undefined && since < 0) this.run.observe(Math.max(0, event.at + since) / 1000);
        break;
      }
      default:
        break;
    }
  }

  /** The job's entry, removed. */
  private take(id: string): number | undefined {
    let value = this.young.get(id);
    if (value !== undefined) this.young.delete(id);
    else {
      value = this.old.get(id);
      if (value !== undefined) this.old.delete(id);
    }
    return value;
  }

  private remember(id: string, value: number): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(id, value);
  }
}
