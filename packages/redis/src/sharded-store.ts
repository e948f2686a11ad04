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
} from '@scalable-api/core';
import { claimInTurn } from './claim-in-turn.js';
import { perShard } from './shard-flow.js';
import type { RedisStore } from './redis-store.js';
import { ShardCounts } from './shard-counts.js';
import { ShardCalls } from './shard-calls.js';
import { spreadPushBacks } from './sharded-push-back.js';
import { ShardHealth } from './shard-health.js';
import { ShardHints } from './shard-hints.js';
import { ShardSignals } from './shard-signals.js';
import { ShardRouter } from './shard-router.js';
import { scatter } from './scatter.js';
import { enqueueAcross, roomIn, type ShardedEnqueueParts } from './sharded-enqueue.js';
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
 * - the queue bound (`enqueueAcross`): an enqueue reads the other shards' queued + delayed counts and lets the
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
  private readonly calls: ShardCalls;
  private readonly signals: ShardSignals;
  private readonly scheduled: ShardedSchedules;
  private readonly enqueueParts: ShardedEnqueueParts;

  constructor(private readonly parts: ShardedStoreParts) {
    this.shards = parts.shards;
    this.router = new ShardRouter(parts.shards.length);
    this.hints = new ShardHints(parts.shards.length, parts.probeMs);
    this.health = new ShardHealth(parts.shards.length);
    this.rotation = new TickRotation(parts.shards.length, this.live);
    this.calls = new ShardCalls(parts.shards, this.health, parts.clients[0]!, parts.prefix);
    this.signals = new ShardSignals(parts.shards, this.hints);
    this.counted = new ShardCounts(parts.shards.length, (shard) => this.calls.on(shard, (store) => store.counts()));
    this.enqueueParts = { router: this.router, counted: this.counted, hints: this.hints, calls: this.calls };
    const served = new Map<Redis | Cluster, number[]>();
    parts.clients.forEach((client, shard) => served.set(client, [...(served.get(client) ?? []), shard]));
    for (const [client, shards] of served) this.health.watch(client, shards);
    this.scheduled = new ShardedSchedules({
      router: this.router,
      count: parts.shards.length,
      on: async (shard, operation) => {
        await this.calls.ready();
        return this.calls.on(shard, operation);
      },
      limitFor: async (shard, adding, limit) => roomIn(await this.counted.depths(adding, limit), shard, limit),
    });
  }

  /** Jobs a page at a time, shard after shard (see `listShards`). */
  async list(query: ListQuery): Promise<ListPage> {
    await this.calls.ready();
    return listShards(this.shards.length, query, (shard, q) => this.calls.on(shard, (store) => store.list(q)));
  }

  /** How many shards: fixed for the life of the data (see docs/scaling-out.md). */
  get shardCount(): number {
    return this.shards.length;
  }

  newId(placement: JobPlacement): string {
    return this.router.idIn(this.router.placed(placement) ?? this.rotation.next());
  }

  enqueue(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
    return enqueueAcross(this.enqueueParts, jobs, options);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    await this.calls.ready();
    const plan = this.hints.plan(this.parts.clock.now(), this.live);
    if (plan.length === 0) throw new SystemStateError('STORE_UNAVAILABLE', 'No shard of the job store is reachable.');
    const jobs = await claimInTurn(
      plan,
      request.flow ? { ...request, flow: perShard(request.flow, this.shardCount) } : request,
      this.hints,
      () => this.parts.clock.now(),
      (shard, r) => this.calls.on(shard, (store) => store.claim(r)),
    );
    return { jobs, nextRunAt: this.hints.nextRunAt(this.live) };
  }

  async renew(leases: readonly LeaseRef[], leaseMs: number): Promise<RenewOutcome[]> {
    if (leases.length === 0) return [];
    await this.calls.ready();
    const { out, parts, failed, failure } = await scatter(
      leases,
      (lease) => this.router.shardOf(lease.id),
      (shard, part) => this.calls.on(shard, (store) => store.renew(part, leaseMs)),
      // No news from that shard: its attempts go on, as they do when a whole renew fails. Their
      // results are fenced by token if the leases did run out meanwhile.
      (): RenewOutcome => ({ held: true }),
    );
    if (failed === parts) throw failure;
    return out;
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    if (settlements.length === 0) return [];
    await this.calls.ready();
    const { out, failed, failure } = await scatter(
      settlements,
      (s) => this.router.shardOf(s.id),
      (shard, part) => this.calls.on(shard, (store) => store.settle(part)),
      (): SettleOutcome => 'stale',
    );
    // The caller sends a failed batch again; what the other shards recorded then answers `stale`
    // (a settlement carries its token), so nothing is recorded twice.
    if (failed > 0) throw failure;
    // A push-back holds its type on every shard, not only the job's.
    await spreadPushBacks(
      settlements,
      out,
      this.shards.length,
      (id) => this.router.shardOf(id),
      (shard, operation) => this.calls.on(shard, operation),
    );
    return out;
  }

  async getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    if (ids.length === 0) return [];
    await this.calls.ready();
    const { out } = await scatter(
      ids,
      (id) => this.router.shardOf(id),
      (shard, part) => this.calls.on(shard, (store) => store.getMany(part)),
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
    await this.calls.ready();
    if ((await this.counted.refresh()) === 0) throw new SystemStateError('STORE_UNAVAILABLE', 'No shard of the job store is reachable.');
    return this.counted.sum();
  }

  /** Every shard's flow control, added up (see `shardedFlowStats`). */
  async flowStats(query: FlowStatsQuery): Promise<FlowNameStats[]> {
    await this.calls.ready();
    return shardedFlowStats(this.shards.length, query, (shard, q) => this.calls.on(shard, (store) => store.flowStats(q)));
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
    if (this.calls.closed) return () => {};
    return this.signals.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.calls.closed) return;
    this.calls.close();
    this.signals.close();
    await Promise.all(this.shards.map((store) => store.close()));
    await this.parts.release();
  }

  private async onJob<T>(id: string, operation: (store: RedisStore) => Promise<T>): Promise<T> {
    await this.calls.ready();
    return this.calls.on(this.router.shardOf(id), operation);
  }
}
