import type { JobEvent, JobStatus } from '@scalable-api/core';

/** One row of the dashboard's job list. */
export interface RecentJob {
  id: string;
  name: string;
  status: JobStatus;
  parentId: string | undefined;
  rootId: string;
  attempt: number;
  /** When this node first saw the job (its first event), epoch ms. */
  seenAt: number;
  startedAt: number | undefined;
  updatedAt: number;
  /** Last numeric progress in [0, 1], if the job reported one. */
  progress: number | undefined;
}

export interface RecentJobsQuery {
  status?: JobStatus | undefined;
  /** Exact job name. */
  name?: string | undefined;
  /** Only jobs without a parent. */
  rootsOnly?: boolean | undefined;
  limit: number;
  /** Drops rows the caller may not see (another tenant's); called newest first, at most `limit` rows kept. */
  visible?: ((job: RecentJob) => boolean | Promise<boolean>) | undefined;
}

/**
 * The last `capacity` jobs this node heard of, built from the job event stream. The store has no
 * "list jobs" operation (a Redis scan over millions of jobs is not something a page should
 * trigger), so the dashboard keeps its own bounded window: a ring of ids in first-seen order and
 * a Map from id to row. A new job at capacity overwrites the oldest slot. Updates keep a job's
 * place, so a long running job can age out while still running; its page still works (it reads
 * the store).
 *
 * A ring rather than evicting a Map's first key: V8 leaves deleted Map entries in place until it
 * rehashes, so "first key" walks over every entry deleted before it, and at a steady churn that
 * made each event cost microseconds.
 *
 * The list is for a person, and it must not tax a node running 100,000 jobs a second: it admits
 * up to `admitPerSecond` new jobs a second and samples past that. Jobs that fail, retry or are
 * cancelled are always admitted (at that event), since those are the ones someone looks for.
 * Events of a job left out cost one Map lookup.
 */
export class RecentJobs {
  private readonly jobs = new Map<string, RecentJob>();
  private readonly ring: (string | undefined)[];
  private head = 0;
  private second = 0;
  private admitted = 0;
  /** Bumped on every change: a feed sends the list again only when this moved. */
  version = 0;
  /** New jobs left out by the admission rate since start. */
  skipped = 0;

  constructor(
    readonly capacity = 5_000,
    readonly admitPerSecond = 1_000,
  ) {
    this.ring = new Array<string | undefined>(capacity).fill(undefined);
  }

  private admits(event: JobEvent): boolean {
    switch (event.type) {
      case 'job.failed':
      case 'job.retrying':
      case 'job.cancelled':
        return true;
      case 'job.queued':
      case 'job.delayed': {
        const second = Math.floor(event.at / 1000);
        if (second !== this.second) {
          this.second = second;
          this.admitted = 0;
        }
        if (++this.admitted <= this.admitPerSecond) return true;
        this.skipped++;
        return false;
      }
      default:
        // A job first heard of mid-life (left out when queued) stays out.
        return false;
    }
  }

  observe(event: JobEvent): void {
    let job = this.jobs.get(event.id);
    if (!job) {
      if (!this.admits(event)) return;
      const oldest = this.ring[this.head];
      if (oldest !== undefined) this.jobs.delete(oldest);
      this.ring[this.head] = event.id;
      this.head = (this.head + 1) % this.capacity;
      job = {
        id: event.id,
        name: event.name,
        status: event.status,
        parentId: event.parentId,
        rootId: event.rootId,
        attempt: 0,
        seenAt: event.at,
        startedAt: undefined,
        updatedAt: event.at,
        progress: undefined,
      };
      this.jobs.set(event.id, job);
    }
    job.status = event.status;
    job.updatedAt = event.at;
    if (event.type === 'job.started') {
      job.attempt = event.attempt;
      job.startedAt = event.at;
    } else if (event.type === 'job.progress' && typeof event.progress === 'number') {
      job.progress = event.progress;
    } else if (event.type === 'job.completed') {
      job.progress = 1;
    }
    this.version++;
  }

  get(id: string): RecentJob | undefined {
    return this.jobs.get(id);
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Matching jobs, newest first, plus how many matched in all (before the limit). */
  async query(query: RecentJobsQuery): Promise<{ jobs: RecentJob[]; matched: number }> {
    const out: RecentJob[] = [];
    let matched = 0;
    for (let n = 1; n <= this.capacity; n++) {
      const id = this.ring[(this.head - n + this.capacity) % this.capacity];
      if (id === undefined) break;
      const job = this.jobs.get(id)!;
      if (query.status !== undefined && job.status !== query.status) continue;
      if (query.name !== undefined && job.name !== query.name) continue;
      if (query.rootsOnly && job.parentId !== undefined) continue;
      if (query.visible && !(await query.visible(job))) continue;
      matched++;
      if (out.length < query.limit) out.push({ ...job });
    }
    return { jobs: out, matched };
  }

  /** Jobs per status and the names seen, for the filter controls. */
  summary(): { byStatus: Partial<Record<JobStatus, number>>; names: string[] } {
    const byStatus: Partial<Record<JobStatus, number>> = {};
    const names = new Set<string>();
    for (const job of this.jobs.values()) {
      byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
      names.add(job.name);
    }
    return { byStatus, names: [...names].sort() };
  }
}
