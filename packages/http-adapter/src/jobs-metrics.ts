import type { JobEvent, JobSystemStats } from '@scalable-api/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JobTimings } from './job-timings.js';
import { processMetrics } from './process-metrics.js';
import type { ProblemCode } from './problem.js';

/** `metrics` of the plugin's options. */
export interface MetricsOptions {
  /**
   * A prom-client `Registry` of yours: the plugin's metrics are registered in it (and removed when
   * the app closes), and `/metrics` serves all of it, your own metrics included. Default: a
   * registry of the plugin's own.
   */
  registry?: Registry;
  /**
   * prom-client's default process metrics (CPU, heap, GC, event-loop lag, handles) on `/metrics`.
   * Collected once per process and served beside the registry, unless the registry has them
   * already (you called `collectDefaultMetrics({ register })` on it). Default true.
   */
  defaultMetrics?: boolean;
}

/** What the metrics read when scraped: the node's live state, never a per-request tally. */
export interface MetricsSource {
  stats(): Promise<JobSystemStats>;
  sseConnections(): number;
  draining(): boolean;
}

/** Seconds; spans a no-op job (sub-millisecond) to a long pipeline (minutes). */
const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const p = 'scalable_api';

type StatsKey = 'submitted' | 'completed' | 'failed' | 'cancelled' | 'rejected' | 'restarts';
type GaugeKey = 'queued' | 'delayed' | 'running' | 'waitingChildren' | 'workers' | 'idleWorkers';

/** Counters that only go up, read from `stats()` (the node's live counters). */
const counters: readonly [string, string, StatsKey][] = [
  ['jobs_submitted_total', 'Jobs accepted by this node.', 'submitted'],
  ['jobs_completed_total', 'Jobs completed (with a shared store: every node’s, as this node saw them).', 'completed'],
  ['jobs_failed_total', 'Jobs failed after their retries.', 'failed'],
  ['jobs_cancelled_total', 'Jobs cancelled.', 'cancelled'],
  ['jobs_rejected_total', 'Submissions refused by a bound or the system state.', 'rejected'],
  // The documented name has no _total: kept so existing dashboards and alerts still match.
  ['worker_restarts', 'Worker restarts since start (only ever goes up).', 'restarts'],
];

const gauges: readonly [string, string, GaugeKey][] = [
  ['jobs_queued', 'Jobs ready to run (queue depth).', 'queued'],
  ['jobs_delayed', 'Jobs waiting for their run time.', 'delayed'],
  ['jobs_running', 'Jobs running now.', 'running'],
  ['jobs_waiting_children', 'Parents waiting for their children.', 'waitingChildren'],
  ['workers', 'Worker actors.', 'workers'],
  ['workers_idle', 'Idle worker actors.', 'idleWorkers'],
];

/**
 * `GET /metrics` through prom-client. Job counts and states are read when scraped, from
 * `system.stats()` (the node's live counters and the store's counts, one call per scrape however
 * many metrics read it) and the plugin's state; the wait and run times are prom-client
 * histograms fed by job events. HTTP responses and problems are counted in plain maps on the
 * request path and handed to their counters when scraped: prom-client's `inc` with labels cost
 * ~1 µs a call here (it hashes the label set each time), the maps ~0.06 µs. Every label set is
 * bounded: methods, route patterns, statuses and problem codes, never ids or tenants.
 */
export class JobsMetrics {
  readonly registry: Registry;
  /** What `/metrics` serves: the registry, and the process metrics when they are not in it. */
  private readonly served: Registry[];
  private readonly owned: string[];
  private readonly timings: JobTimings;
  /** method → route → status → count. */
  private readonly responses = new Map<string, Map<string, Map<number, number>>>();
  private readonly problems = new Map<ProblemCode, number>();
  private scrape: Promise<JobSystemStats> | undefined;

  constructor(
    private readonly source: MetricsSource,
    options: MetricsOptions = {},
    maxTracked?: number,
  ) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    const before = new Set(this.registry.getMetricsAsArray().map((metric) => metric.name));
    const stats = () => (this.scrape ??= source.stats().finally(() => (this.scrape = undefined)));
    for (const [name, help, key] of counters) {
      let last = 0;
      new Counter({
        name: `${p}_${name}`,
        help,
        registers,
        async collect() {
          // The node's counter is the truth; the prom-client counter follows it by its growth.
          const now = (await stats())[key];
          if (now > last) this.inc(now - last);
          last = now;
        },
      });
    }
    for (const [name, help, key] of gauges) {
      new Gauge({
        name: `${p}_${name}`,
        help,
        registers,
        async collect() {
          this.set((await stats())[key]);
        },
      });
    }
    new Gauge({
      name: `${p}_healthy`,
      help: '1 when the system is healthy.',
      registers,
      async collect() {
        this.set((await stats()).health === 'healthy' ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}_draining`,
      help: '1 while the HTTP edge refuses new work for shutdown.',
      registers,
      collect() {
        this.set(source.draining() ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}_sse_connections`,
      help: 'Open event streams (API and dashboard).',
      registers,
      collect() {
        this.set(source.sseConnections());
      },
    });
    const wait = new Histogram({ name: `${p}_job_wait_seconds`, help: 'Time from ready to started.', buckets, registers });
    const run = new Histogram({ name: `${p}_job_run_seconds`, help: 'Time from started to settled (last attempt).', buckets, registers });
    this.timings = new JobTimings(wait, run, maxTracked);
    const { responses, problems } = this;
    new Counter({
      name: `${p}_http_responses_total`,
      help: 'HTTP responses of the jobs routes by route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
      collect() {
        // Set from the maps' totals: a reset then one inc per label set.
        this.reset();
        for (const [method, byRoute] of responses)
          for (const [route, byStatus] of byRoute) for (const [status, value] of byStatus) this.inc({ method, route, status }, value);
      },
    });
    new Counter({
      name: `${p}_http_problems_total`,
      help: 'Problem responses by code.',
      labelNames: ['code'] as const,
      registers,
      collect() {
        this.reset();
        for (const [code, value] of problems) this.inc({ code }, value);
      },
    });
    this.owned = this.registry
      .getMetricsAsArray()
      .map((metric) => metric.name)
      .filter((name) => !before.has(name));
    const defaults = options.defaultMetrics !== false && !this.registry.getSingleMetric('process_cpu_user_seconds_total');
    this.served = defaults ? [this.registry, processMetrics()] : [this.registry];
  }

  get contentType(): string {
    return this.registry.contentType;
  }

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
    this.timings.observe(event);
  }

  /** The exposition text of everything served. */
  async render(): Promise<string> {
    const texts = await Promise.all(this.served.map((registry) => registry.metrics()));
    return texts.filter((text) => text !== '').join('\n');
  }

  /** Takes the plugin's metrics out of the registry (a user's outlives the plugin). */
  close(): void {
    for (const name of this.owned) this.registry.removeSingleMetric(name);
  }
}
