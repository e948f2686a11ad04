import type { Cluster, Redis } from 'ioredis';
import { SystemStateError } from '@scalable-api/core';
import type {
  CancelOutcome,
  ClaimRequest,
  ClaimResult,
  Clock,
  EnqueueOptions,
  EnqueueOutcome,
  FlowNameStats,
  FlowStatsQuery,
  JobEvent,
  JobPlacement,
  JobRecord,
  JobStore,
  LeaseRef,
  ListPage,
  ListQuery,
  NewJob,
  RenewOutcome,
  ScheduleDefinition,
  ScheduleFire,
  ScheduleFireOutcome,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleUpsertOutcome,
  SerializedError,
  Settlement,
  SettleOutcome,
  StoreCounts,
  StoreListener,
  StoreSignal,
} from '@scalable-api/core';
import { claimInTurn } from './claim-in-turn.js';
import { perShard } from './shard-flow.js';
import { assertPlainText, encodeJson } from './json-codec.js';
import type { RedisStore } from './redis-store.js';
import { ShardCounts } from './shard-counts.js';
import { ShardHealth } from './shard-health.js';
import { checkShardLayout } from './shard-layout.js';
import { ShardHints } from './shard-hints.js';
import { ShardRouter } from './shard-router.js';
import { scatter, shardsTouched } from './scatter.js';
import { listShards } from './sharded-list.js';
import { shardedFlowStats } from './sharded-flow-stats.js';
import { ShardedSchedules } from './sharded-schedules.js';
import { TickRotation } from './tick-rotation.js';

export interface ShardedStoreParts {
  shards: RedisStore[];
  /** Closes what was opened for the shards (never a caller's client), once the shards' stores are closed. */
  release(): Promise<void>;
  /** The connection each shard's store uses (several shards may share one); shard 0's records the shard count. */
  clients: (Redis | Cluster)[];
  prefix: string;
  clock: Pick<Clock, 'now'>;
  probeMs: number;
}

/**
 * One logical job store over N shards, each a `RedisStore` under its own hash tag (on one
 * connection, over a Cluster's masters, or on independent servers). A job id names its shard,
 * so an operation on one job touches one shard; a tree lives in its root's shard, so its
 * atomic rules (spawn keys, pending children, cascades) are those of one store; an idempotency
 * key lives in the shard its hash picks.
 *
 * What spans shards:
 * - the queue bound: an enqueue reads the other shards' queued + delayed counts and lets the
 *   target shard's own atomic check use what is left of `limit` (details in docs/scaling-out.md);
 * - claims: one shard at a time in rotation, those with work hints first (`ShardHints`);
 * - counts: the sum over the shards; retention applies per shard.
 * A shard that does not answer fails only the operations on its own jobs (STORE_UNAVAILABLE);
 * the others go on, and new jobs that are free to go anywhere are placed elsewhere meanwhile.
 */
export class ShardedRedisStore implements JobStore {
  readonly durable = true;
  readonly router: ShardRouter;
  private readonly shards: RedisStore[];
  private readonly hints: ShardHints;
  private readonly health: ShardHealth;
  private readonly rotation: TickRotation;
  private readonly live = (shard: number) => this.health.live(shard);
  private readonly counted: ShardCounts;
  private listeners: StoreListener[] = [];
  private unsubscribes: (() => void)[] | undefined;
  private layout: Promise<void> | undefined;
  private resuming = false;
  private closed = false;
  private readonly scheduled: ShardedSchedules;

  constructor(private readonly parts: ShardedStoreParts) {
    this.shards = parts.shards;
    this.router = new ShardRouter(parts.shards.length);
    this.hints = new ShardHints(parts.shards.length, parts.probeMs);
    this.health = new ShardHealth(parts.shards.length);
    this.rotation = new TickRotation(parts.shards.length, this.live);
    this.counted = new ShardCounts(parts.shards.length, (shard) => this.on(shard, (store) => store.counts()));
    const served = new Map<Redis | Cluster, number[]>();
    parts.clients.forEach((client, shard) => served.set(client, [...(served.get(client) ?? []), shard]));
    for (const [client, shards] of served) this.health.watch(client, shards);
    this.scheduled = new ShardedSchedules({
      router: this.router,
      count: parts.shards.length,
      on: async (shard, operation) => {
        await this.ready();
        return this.on(shard, operation);
      },
      limitFor: async (shard, adding, limit) => {
        const depth = await this.counted.depths(adding, limit);
        let others = 0;
        for (let s = 0; s < depth.length; s++) if (s !== shard) others += depth[s]!;
        return Math.max(0, limit - others);
      },
    });
  }

  /** Jobs a page at a time, shard after shard (see `listShards`). */
  async list(query: ListQuery): Promise<ListPage> {
    await this.ready();
    return listShards(this.shards.length, query, (shard, q) => this.on(shard, (store) => store.list(q)));
  }

  /** How many shards: fixed for the life of the data (see docs/scaling-out.md). */
  get shardCount(): number {
    return this.shards.length;
  }

  newId(placement: JobPlacement): string {
    return this.router.idIn(this.router.placed(placement) ?? this.rotation.next());
  }

  async enqueue(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
    if (jobs.length === 0) return [];
    await this.ready();
    const shardOf = (job: NewJob) => this.router.shardOf(job.id);
    // A value a shard would refuse must refuse the whole batch before any shard has stored its part.
    if (shardsTouched(jobs, shardOf) > 1) for (const job of jobs) assertEncodable(job);
    const depth = await this.counted.depths(jobs.length, options.limit);
    // The parts of one batch run at once, each against the same counts: each part also leaves room
    // for the parts before it, as if they were all taken, so together they cannot pass the bound.
    let before = 0;
    const { out, parts, failed, failure } = await scatter(
      jobs,
      shardOf,
      async (shard, part) => {
        let others = before;
        before += part.length;
        for (let s = 0; s < depth.length; s++) if (s !== shard) others += depth[s]!;
        const outcomes = await this.on(shard, (store) => store.enqueue(part, { ...options, limit: Math.max(0, options.limit - others) }));
        // Counted as queued until the next read: what this node adds keeps its view conservative.
        // And the shard has work: this node's next claim goes there without waiting for the signal.
        for (const outcome of outcomes) {
          if (!(outcome.ok && outcome.created)) continue;
          this.counted.added(shard);
          if (outcome.status === 'queued') this.hints.work(shard);
        }
        return outcomes;
      },
      (error): EnqueueOutcome => {
        if (!isUnavailable(error)) throw error;
        return { ok: false, code: 'STORE_UNAVAILABLE' };
      },
    );
    // One shard and it failed: the caller sees what a single store would throw.
    if (failed === parts) throw failure;
    return out;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    await this.ready();
    const plan = this.hints.plan(this.parts.clock.now(), this.live);
    if (plan.length === 0) throw new SystemStateError('STORE_UNAVAILABLE', 'No shard of the job store is reachable.');
    const jobs = await claimInTurn(
      plan,
      request.flow ? { ...request, flow: perShard(request.flow, this.shardCount) } : request,
      this.hints,
      () => this.parts.clock.now(),
      (shard, r) => this.on(shard, (store) => store.claim(r)),
    );
    return { jobs, nextRunAt: this.hints.nextRunAt(this.live) };
  }

  async renew(leases: readonly LeaseRef[], leaseMs: number): Promise<RenewOutcome[]> {
    if (leases.length === 0) return [];
    await this.ready();
    const { out, parts, failed, failure } = await scatter(
      leases,
      (lease) => this.router.shardOf(lease.id),
      (shard, part) => this.on(shard, (store) => store.renew(part, leaseMs)),
      // No news from that shard: its attempts go on, as they do when a whole renew fails. Their
      // results are fenced by token if the leases did run out meanwhile.
      (): RenewOutcome => ({ held: true }),
    );
    if (failed === parts) throw failure;
    return out;
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    if (settlements.length === 0) return [];
    await this.ready();
    const { out, failed, failure } = await scatter(
      settlements,
      (s) => this.router.shardOf(s.id),
      (shard, part) => this.on(shard, (store) => store.settle(part)),
      (): SettleOutcome => 'stale',
    );
    // The caller sends a failed batch again; what the other shards recorded then answers `stale`
    // (a settlement carries its token), so nothing is recorded twice.
    if (failed > 0) throw failure;
    return out;
  }

  async getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    if (ids.length === 0) return [];
    await this.ready();
    const { out } = await scatter(
      ids,
      (id) => this.router.shardOf(id),
      (shard, part) => this.on(shard, (store) => store.getMany(part)),
      (error) => {
        // `undefined` would say "no such job": a shard that did not answer fails the call.
        throw error;
      },
    );
    return out;
  }

  async setWaiting(lease: LeaseRef, waiting: boolean): Promise<boolean> {
    return this.onJob(lease.id, (store) => store.setWaiting(lease, waiting));
  }

  async progress(lease: LeaseRef, value: unknown): Promise<boolean> {
    return this.onJob(lease.id, (store) => store.progress(lease, value));
  }

  async cancel(id: string, reason?: SerializedError): Promise<CancelOutcome> {
    return this.onJob(id, (store) => store.cancel(id, reason));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.onJob(id, (store) => store.get(id));
  }

  async children(id: string): Promise<JobRecord[]> {
    return this.onJob(id, (store) => store.children(id));
  }

  async events(id: string, afterSeq: number): Promise<JobEvent[]> {
    return this.onJob(id, (store) => store.events(id, afterSeq));
  }

  /** The sum over the shards; an unreachable shard counts as it was last seen. */
  async counts(): Promise<StoreCounts> {
    await this.ready();
    if ((await this.counted.refresh()) === 0) throw new SystemStateError('STORE_UNAVAILABLE', 'No shard of the job store is reachable.');
    return this.counted.sum();
  }

  /** Every shard's flow control, added up (see `shardedFlowStats`). */
  async flowStats(query: FlowStatsQuery): Promise<FlowNameStats[]> {
    await this.ready();
    return shardedFlowStats(this.shards.length, query, (shard, q) => this.on(shard, (store) => store.flowStats(q)));
  }

  upsertSchedule(definition: ScheduleDefinition): Promise<ScheduleUpsertOutcome> {
    return this.scheduled.upsert(definition);
  }

  removeSchedule(key: string): Promise<boolean> {
    return this.scheduled.remove(key);
  }

  schedules(query: ScheduleQuery): Promise<ScheduleRecord[]> {
    return this.scheduled.list(query);
  }

  fireSchedules(fires: readonly ScheduleFire[], options: EnqueueOptions): Promise<ScheduleFireOutcome[]> {
    return this.scheduled.fire(fires, options);
  }

  pauseType(name: string): Promise<void> {
    return this.scheduled.pause(name);
  }

  resumeType(name: string): Promise<void> {
    return this.scheduled.resume(name);
  }

  pausedTypes(): Promise<string[]> {
    return this.scheduled.paused();
  }

  subscribe(listener: StoreListener): () => void {
    if (this.closed) return () => {};
    this.listeners.push(listener);
    this.unsubscribes ??= this.shards.map((store, shard) => store.subscribe((signal) => this.signal(shard, signal)));
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners = [];
    for (const unsubscribe of this.unsubscribes ?? []) unsubscribe();
    await Promise.all(this.shards.map((store) => store.close()));
    await this.parts.release();
  }

  private signal(shard: number, signal: StoreSignal): void {
    if (signal.type === 'work.available' || signal.type === 'signals.resumed') this.hints.work(shard);
    if (signal.type === 'signals.resumed') {
      // Shards on one subscribed connection resume together: listeners re-derive once for all.
      if (this.resuming) return;
      this.resuming = true;
      queueMicrotask(() => {
        this.resuming = false;
        this.emit(signal);
      });
      return;
    }
    this.emit(signal);
  }

  private emit(signal: StoreSignal): void {
    for (const listener of this.listeners) listener(signal);
  }

  private async onJob<T>(id: string, operation: (store: RedisStore) => Promise<T>): Promise<T> {
    await this.ready();
    return this.on(this.router.shardOf(id), operation);
  }

  /** Runs one shard's operation and keeps its health up to date. */
  private async on<T>(shard: number, operation: (store: RedisStore) => Promise<T>): Promise<T> {
    // Its connection is down: answer now rather than after the client's reconnect attempts.
    if (this.health.unreachable(shard)) throw new SystemStateError('STORE_UNAVAILABLE', 'The job store is unavailable.');
    try {
      const result = await operation(this.shards[shard]!);
      this.health.answered(shard);
      return result;
    } catch (error) {
      if (isUnavailable(error)) this.health.failed(shard);
      throw error;
    }
  }

  /** Checked once before the first operation (see `checkShardLayout`); an unreachable shard 0 postpones it. */
  private ready(): Promise<void> {
    if (this.closed) return Promise.reject(new SystemStateError('STORE_UNAVAILABLE', 'The Redis store is closed.'));
    this.layout ??= checkShardLayout(this.parts.clients[0]!, this.parts.prefix, this.shards.length).catch((error: unknown) => {
      if (isUnavailable(error)) {
        this.layout = undefined;
        return;
      }
      throw error;
    });
    return this.layout;
  }
}

function isUnavailable(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'STORE_UNAVAILABLE';
}

/** The checks `RedisStore.enqueue` makes before it sends anything, made for a whole batch up front. */
function assertEncodable(job: NewJob): void {
  assertPlainText(job.id, 'id');
  assertPlainText(job.name, 'name');
  if (job.rootId !== undefined) assertPlainText(job.rootId, 'rootId');
  encodeJson(job.input, `input of job ${job.id} (${job.name})`);
}
