import type { JobEvent, JobSystemStats } from '@scalable-api/core';
import type { ProblemCode } from './problem.js';

/** Seconds; spans a no-op job (sub-millisecond) to a long pipeline (minutes). */
const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

class Histogram {
  readonly counts = new Array<number>(buckets.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < buckets.length; i++) {
      if (seconds <= buckets[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  render(name: string, help: string): string {
    let out = `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`;
    let cumulative = 0;
    for (let i = 0; i < buckets.length; i++) {
      cumulative += this.counts[i]!;
      out += `${name}_bucket{le="${buckets[i]}"} ${cumulative}\n`;
    }
    out += `${name}_bucket{le="+Inf"} ${this.count}\n${name}_sum ${this.sum}\n${name}_count ${this.count}\n`;
    return out;
  }
}

/**
 * The numbers behind `GET /metrics`, in Prometheus text format written by hand (no client
 * library). Job counters come from `system.stats()` (what this node did); the wait and run time
 * histograms come from job events. Every label set is bounded: statuses, route patterns and
 * problem codes, never ids or tenants.
 */
export class JobsMetrics {
  /** method → route → status → count: lookups on the hot path, no string building per response. */
  private readonly responses = new Map<string, Map<string, Map<number, number>>>();
  private readonly problems = new Map<ProblemCode, number>();
  private readonly wait = new Histogram();
  private readonly run = new Histogram();
  /**
   * Per job: when it became ready (a positive time) or, once started, minus when it started. One
   * entry a job, updated in place, rather than one in each of two maps: the map work per job was
   * the largest cost of the HTTP layer. Bounded so jobs whose end we never see cannot pile up.
   */
  private readonly since = new Map<string, number>();

  constructor(private readonly maxTracked = 100_000) {}

  countResponse(method: string, route: string, status: number): void {
    let byRoute = this.responses.get(method);
    if (!byRoute) this.responses.set(method, (byRoute = new Map<string, Map<number, number>>()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map<number, number>()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  countProblem(code: ProblemCode): void {
    this.problems.set(code, (this.problems.get(code) ?? 0) + 1);
  }

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

  render(stats: JobSystemStats, extra: { sseConnections: number; draining: boolean }): string {
    const p = 'scalable_api';
    let out = '';
    const counter = (name: string, help: string, value: number) => {
      out += `# HELP ${p}_${name} ${help}\n# TYPE ${p}_${name} counter\n${p}_${name} ${value}\n`;
    };
    const gauge = (name: string, help: string, value: number) => {
      out += `# HELP ${p}_${name} ${help}\n# TYPE ${p}_${name} gauge\n${p}_${name} ${value}\n`;
    };
    counter('jobs_submitted_total', 'Jobs accepted by this node.', stats.submitted);
    counter('jobs_completed_total', 'Jobs completed by this node.', stats.completed);
    counter('jobs_failed_total', 'Jobs failed on this node after their retries.', stats.failed);
    counter('jobs_cancelled_total', 'Jobs cancelled on this node.', stats.cancelled);
    counter('jobs_rejected_total', 'Submissions refused by a bound or the system state.', stats.rejected);
    gauge('jobs_queued', 'Jobs ready to run (queue depth).', stats.queued);
    gauge('jobs_delayed', 'Jobs waiting for their run time.', stats.delayed);
    gauge('jobs_running', 'Jobs running now.', stats.running);
    gauge('jobs_waiting_children', 'Parents waiting for their children.', stats.waitingChildren);
    gauge('workers', 'Worker actors.', stats.workers);
    gauge('workers_idle', 'Idle worker actors.', stats.idleWorkers);
    counter('worker_restarts', 'Worker restarts since start (only ever goes up).', stats.restarts);
    gauge('healthy', '1 when the system is healthy.', stats.health === 'healthy' ? 1 : 0);
    gauge('draining', '1 while the HTTP edge refuses new work for shutdown.', extra.draining ? 1 : 0);
    gauge('sse_connections', 'Open event streams.', extra.sseConnections);
    out += this.wait.render(`${p}_job_wait_seconds`, 'Time from ready to started.');
    out += this.run.render(`${p}_job_run_seconds`, 'Time from started to settled (last attempt).');
    out += `# HELP ${p}_http_responses_total HTTP responses of the jobs routes by route and status.\n# TYPE ${p}_http_responses_total counter\n`;
    for (const [method, byRoute] of this.responses) {
      for (const [route, byStatus] of byRoute) {
        for (const [status, value] of byStatus) {
          out += `${p}_http_responses_total{method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"} ${value}\n`;
        }
      }
    }
    out += `# HELP ${p}_http_problems_total Problem responses by code.\n# TYPE ${p}_http_problems_total counter\n`;
    for (const [code, value] of this.problems) out += `${p}_http_problems_total{code="${code}"} ${value}\n`;
    return out;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
