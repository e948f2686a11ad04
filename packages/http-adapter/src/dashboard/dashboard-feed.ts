import type { ServerResponse } from 'node:http';
import { type ActorsView, type JobEvent, type JobStatus, type JobSystem, type JobSystemStats } from '@scalable-api/core';
import { jobView } from '../job-view.js';
import type { DashboardActors, FeedMessage, JobDetail, Overview } from './feed-message.js';
import { tenantOverview } from './tenant-overview.js';
import { RecentJobs, type RecentJob } from './recent-jobs.js';
import { ThroughputSeries, type SeriesPoint } from './throughput-series.js';

export interface DashboardFeedOptions {
  /** Messages per second on one live connection at most; events in between are coalesced. */
  updatesPerSecond: number;
  /** Jobs kept for the list. */
  recentJobs: number;
  /** Seconds of chart history. */
  historySeconds: number;
  /** Rows sent for one list. */
  listLimit: number;
  /** Nodes of a tree sent for a job page. */
  treeNodes: number;
  /** Bytes queued for a slow reader before ticks are skipped for it (it gets the next state, not every state). */
  slowReaderBytes: number;
  /** May this tenant see this job? `undefined` when the adapter has no tenants. */
  visible: ((job: { id: string; rootId: string }, tenant: string | undefined) => Promise<boolean>) | undefined;
}

/** What one browser tab watches. */
export interface LiveClient {
  res: ServerResponse;
  tenant: string | undefined;
  filter: { status?: JobStatus | undefined; name?: string | undefined; rootsOnly?: boolean | undefined };
  jobId: string | undefined;
  /** Root of the watched job's tree: any event under it may change the page. */
  jobRoot: string | undefined;
  jobDirty: boolean;
  listVersion: number;
  lastPoint: number;
}

/**
 * Everything the dashboard shows live, from one store listener and one timer per node, however
 * many tabs are open. A tick builds the overview once and gives each connection at most one
 * message: the rate is bounded per connection whatever the event rate, and a reader whose socket
 * is backed up skips ticks rather than buffering them.
 */
export class DashboardFeed {
  readonly recent: RecentJobs;
  readonly series: ThroughputSeries;
  private readonly clients = new Set<LiveClient>();
  private readonly byRoot = new Map<string, Set<LiveClient>>();
  private readonly unsubscribe: () => void;
  private readonly sampler: { unsubscribe(): void };
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly system: JobSystem,
    private readonly options: DashboardFeedOptions,
  ) {
    this.recent = new RecentJobs(options.recentJobs);
    this.series = new ThroughputSeries(options.historySeconds);
    this.unsubscribe = system.store.subscribe((signal) => {
      if (signal.type === 'job.event') this.observe(signal.event);
    });
    // The runtime samples the node's live state (`system.live`) every `sampleMs`; each sample is
    // a second of the charts, with no timer or stats() poll of the feed's own. The counters come
    // from that state; queue depths from the store, which is their record.
    this.series.prime(system.live.get().context.counters);
    this.sampler = system.live.select((state) => state.sampledAt).subscribe(() => void this.sample());
  }

  private observe(event: JobEvent): void {
    this.recent.observe(event);
    this.series.observe(event);
    const watchers = this.byRoot.get(event.rootId);
    if (watchers) for (const client of watchers) client.jobDirty = true;
  }

  private async sample(): Promise<void> {
    try {
      const counts = await this.system.store.counts();
      const { counters } = this.system.live.get().context;
      this.series.tick(Date.now(), { ...counts, completed: counters.completed, failed: counters.failed, submitted: counters.submitted });
    } catch {
      // A store hiccup leaves a gap in the chart; the next second tries again.
    }
  }

  /** The overview a tenant may see (the whole node's without tenants); `node` reuses a tick's node-wide one. */
  async overview(tenant: string | undefined, node?: Overview): Promise<Overview> {
    const whole = node ?? (await this.nodeOverview());
    const visible = this.options.visible;
    return visible ? tenantOverview(whole, this.recent, (job) => visible(job, tenant)) : whole;
  }

  private async nodeOverview(): Promise<Overview> {
    const stats: JobSystemStats = await this.system.stats();
    return {
      at: Date.now(),
      nodeId: this.system.nodeId,
      durable: this.system.store.durable,
      scope: 'node',
      stats,
      // The runtime's last sample of its actors, not a fresh read of every actor per tick.
      actors: capWorkers(this.system.live.get().context.view),
      recent: {
        size: this.recent.size,
        capacity: this.recent.capacity,
        admitPerSecond: this.recent.admitPerSecond,
        skipped: this.recent.skipped,
        ...this.recent.summary(),
      },
      jobNames: [...this.system.jobs.keys()],
    };
  }

  /** Chart history: node-wide, so none for a tenant. */
  history(): SeriesPoint[] {
    return this.options.visible ? [] : this.series.history();
  }

  list(client: Pick<LiveClient, 'filter' | 'tenant'>): Promise<{ jobs: RecentJob[]; matched: number }> {
    const visible = this.options.visible;
    return this.recent.query({
      ...client.filter,
      limit: this.options.listLimit,
      visible: visible ? (job) => visible(job, client.tenant) : undefined,
    });
  }

  /** A job page: the record, its event timeline and its tree (capped). */
  async job(id: string): Promise<JobDetail | undefined> {
    const record = await this.system.get(id);
    if (!record) return undefined;
    const [events, tree] = await Promise.all([this.system.store.events(id, 0), this.system.tree(id, { maxNodes: this.options.treeNodes })]);
    return { job: jobView(record), events, tree: tree ?? null, treeCap: this.options.treeNodes };
  }

  /** Starts streaming to a connection. */
  async connect(client: LiveClient): Promise<void> {
    // Registered before the first await: a tab closed while we look its job up must not stay
    // in the set (its 'close' would have fired already).
    this.clients.add(client);
    client.res.once('close', () => this.disconnect(client));
    if (client.jobId !== undefined) {
      const record = await this.system.get(client.jobId);
      client.jobRoot = record?.rootId;
      client.jobDirty = true;
      if (client.jobRoot !== undefined && !client.res.destroyed) {
        let set = this.byRoot.get(client.jobRoot);
        if (!set) this.byRoot.set(client.jobRoot, (set = new Set()));
        set.add(client);
      }
    }
    if (client.res.destroyed) return this.disconnect(client);
    await this.send(client, await this.overview(client.tenant));
    this.schedule();
  }

  private disconnect(client: LiveClient): void {
    this.clients.delete(client);
    if (client.jobRoot !== undefined) {
      const set = this.byRoot.get(client.jobRoot);
      set?.delete(client);
      if (set?.size === 0) this.byRoot.delete(client.jobRoot);
    }
  }

  private schedule(): void {
    if (this.ticker !== undefined || this.closed || this.clients.size === 0) return;
    this.ticker = setTimeout(() => {
      this.tick().then(
        () => {
          this.ticker = undefined;
          this.schedule();
        },
        () => {
          this.ticker = undefined;
          this.schedule();
        },
      );
    }, 1_000 / this.options.updatesPerSecond);
  }

  /** One node-wide overview per tick, and one per tenant watching. */
  private async tick(): Promise<void> {
    const node = await this.nodeOverview();
    const scoped = new Map<string | undefined, Promise<Overview>>();
    await Promise.all(
      [...this.clients].map(async (client) => {
        let overview = scoped.get(client.tenant);
        if (!overview) scoped.set(client.tenant, (overview = this.overview(client.tenant, node)));
        await this.send(client, await overview);
      }),
    );
  }

  /** A connection's first message carries the full history and list: its marks start at zero. */
  private async send(client: LiveClient, overview: Overview): Promise<void> {
    const { res } = client;
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength > this.options.slowReaderBytes) return;
    const message: FeedMessage = { overview };
    const points = this.history();
    const fresh: SeriesPoint[] = points.filter((p) => p.t > client.lastPoint);
    if (fresh.length > 0) {
      message.points = fresh;
      client.lastPoint = fresh[fresh.length - 1]!.t;
    }
    if (client.listVersion !== this.recent.version) {
      client.listVersion = this.recent.version;
      message.list = await this.list(client);
    }
    if (client.jobId !== undefined && client.jobDirty) {
      client.jobDirty = false;
      message.job = (await this.job(client.jobId)) ?? null;
    }
    if (res.destroyed || res.writableEnded) return;
    res.write(`data: ${JSON.stringify(message)}\n\n`);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.sampler.unsubscribe();
    clearTimeout(this.ticker);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    this.byRoot.clear();
  }
}

/** Workers drawn per tick, busy ones first: a node with thousands of workers still sends a small message. */
const maxWorkerTiles = 256;

function capWorkers(view: ActorsView | undefined): DashboardActors | null {
  if (!view) return null;
  const total = view.workers.length;
  if (total <= maxWorkerTiles) return { ...view, workersTotal: total };
  const busy = view.workers.filter((w) => w.state !== 'idle');
  const idle = view.workers.filter((w) => w.state === 'idle');
  return { ...view, workers: [...busy, ...idle].slice(0, maxWorkerTiles), workersTotal: total };
}
