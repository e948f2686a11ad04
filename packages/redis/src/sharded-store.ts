import type { Cluster, Redis } from 'ioredis';
import { SystemStateError } from '@scalable-api/core';
import type {
  CancelOutcome,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  Clock,
  EnqueueOptions,
  EnqueueOutcome,
  JobEvent,
  JobPlacement,
  JobRecord,
  JobStore,
  LeaseRef,
  NewJob,
  RenewOutcome,
  SerializedError,
  Settlement,
  SettleOutcome,
  StoreCounts,
  StoreListener,
  StoreSignal,
} from '@scalable-api/core';
import { assertPlainText, encodeJson } from './json-codec.js';
import type { RedisStore } from './redis-store.js';
import { ShardHealth } from './shard-health.js';
import { ShardHints } from './shard-hints.js';
import { ShardRouter } from './shard-router.js';
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

/** How long an enqueue may go by the shards' counts as last read, while far from the bound. */
const freshMs = 100;

const emptyCounts = (): StoreCounts => ({ queued: 0, delayed: 0, running: 0, waitingChildren: 0, completed: 0, failed: 0, cancelled: 0 });

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
  /** Each shard's counts as last read: an unreachable shard's stand in for it. */
  private readonly lastCounts: StoreCounts[];
  private listeners: StoreListener[] = [];
  private unsubscribes: (() => void)[] | undefined;
  private layout: Promise<void> | undefined;
  private resuming = false;
  /** When `lastCounts` was last read (real time). */
  private countsReadAt = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(private readonly parts: ShardedStoreParts) {
    this.shards = parts.shards;
    this.router = new ShardRouter(parts.shards.length);
    this.hints = new ShardHints(parts.shards.length, parts.probeMs);
    this.health = new ShardHealth(parts.shards.length);
    this.rotation = new TickRotation(parts.shards.length, this.live);
    this.lastCounts = parts.shards.map(emptyCounts);
    const served = new Map<Redis | Cluster, number[]>();
    parts.clients.forEach((client, shard) => served.set(client, [...(served.get(client) ?? []), shard]));
    for (const [client, shards] of served) this.health.watch(client, shards);
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
    const groups = this.group(jobs, (job) => job.id);
    // A value a shard would refuse must refuse the whole batch before any shard has stored its part.
    if (groups.length > 1) for (const job of jobs) assertEncodable(job);
    const depth = await this.depths(jobs.length, options.limit);
    const out = new Array<EnqueueOutcome>(jobs.length);
    let failure: unknown;
    let failed = 0;
    // The parts of one batch run at once, each against the same counts: each part also leaves room
    // for the parts before it, as if they were all taken, so together they cannot pass the bound.
    let before = 0;
    await Promise.all(
      groups.map(async ([shard, indexes]) => {
        let others = before;
        before += indexes.length;
        for (let s = 0; s < depth.length; s++) if (s !== shard) others += depth[s]!;
        try {
          const part = indexes.map((i) => jobs[i]!);
          const outcomes = await this.on(shard, (store) => store.enqueue(part, { ...options, limit: Math.max(0, options.limit - others) }));
          indexes.forEach((i, k) => (out[i] = outcomes[k]!));
          // Counted as queued until the next read: what this node adds keeps its view conservative.
          // And the shard has work: this node's next claim goes there without waiting for the signal.
          for (const outcome of outcomes) {
            if (!(outcome.ok && outcome.created)) continue;
            this.lastCounts[shard]!.queued++;
            if (outcome.status === 'queued') this.hints.work(shard);
          }
        } catch (error) {
          if (!isUnavailable(error)) throw error;
          failure = error;
          failed++;
          for (const i of indexes) out[i] = { ok: false, code: 'STORE_UNAVAILABLE' };
        }
      }),
    );
    // One shard and it failed: the caller sees what a single store would throw.
    if (failed === groups.length) throw failure;
    return out;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    await this.ready();
    const plan = this.hints.plan(this.parts.clock.now(), this.live);
    if (plan.length === 0) throw new SystemStateError('STORE_UNAVAILABLE', 'No shard of the job store is reachable.');
    const jobs: ClaimedJob[] = [];
    const capacity = request.capacity ? new Map(request.capacity) : undefined;
    let failure: unknown;
    let answered = 0;
    for (const shard of plan) {
      const asked = request.max - jobs.length;
      if (asked <= 0) break;
      const generation = this.hints.generation(shard);
      let result: ClaimResult;
      try {
        result = await this.on(shard, (store) => store.claim({ ...request, max: asked, capacity }));
      } catch (error) {
        failure = error;
        continue;
      }
      answered++;
      this.hints.claimed(shard, generation, asked, result.jobs.length, result.nextRunAt, this.parts.clock.now());
      for (const job of result.jobs) {
        jobs.push(job);
        const left = capacity?.get(job.name);
        if (left !== undefined) capacity!.set(job.name, left - 1);
      }
    }
    if (answered === 0) throw failure;
    return { jobs, nextRunAt: this.hints.nextRunAt(this.live) };
  }

  async renew(leases: readonly LeaseRef[], leaseMs: number): Promise<RenewOutcome[]> {
    if (leases.length === 0) return [];
    await this.ready();
    const groups = this.group(leases, (lease) => lease.id);
    const out = new Array<RenewOutcome>(leases.length);
    let failure: unknown;
    let failed = 0;
    await Promise.all(
      groups.map(async ([shard, indexes]) => {
        try {
          const outcomes = await this.on(shard, (store) =>
            store.renew(
              indexes.map((i) => leases[i]!),
              leaseMs,
            ),
          );
          indexes.forEach((i, k) => (out[i] = outcomes[k]!));
        } catch (error) {
          failure = error;
          failed++;
          // No news from that shard: its attempts go on, as they do when a whole renew fails.
          // Their results are fenced by token if the leases did run out meanwhile.
          for (const i of indexes) out[i] = { held: true };
        }
      }),
    );
    if (failed === groups.length) throw failure;
    return out;
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    if (settlements.length === 0) return [];
    await this.ready();
    const groups = this.group(settlements, (s) => s.id);
    const out = new Array<SettleOutcome>(settlements.length);
    let failure: unknown;
    await Promise.all(
      groups.map(async ([shard, indexes]) => {
        try {
          const outcomes = await this.on(shard, (store) => store.settle(indexes.map((i) => settlements[i]!)));
          indexes.forEach((i, k) => (out[i] = outcomes[k]!));
        } catch (error) {
          failure = error;
        }
      }),
    );
    // The caller sends a failed batch again; what the other shards recorded then answers `stale`
    // (a settlement carries its token), so nothing is recorded twice.
    if (failure !== undefined) throw failure;
    return out;
  }

  async getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    if (ids.length === 0) return [];
    await this.ready();
    const out = new Array<JobRecord | undefined>(ids.length);
    await Promise.all(
      this.group(ids, (id) => id).map(async ([shard, indexes]) => {
        const records = await this.on(shard, (store) => store.getMany(indexes.map((i) => ids[i]!)));
        indexes.forEach((i, k) => (out[i] = records[k]));
      }),
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
    const answered = await this.readCounts();
    if (answered === 0) throw new SystemStateError('STORE_UNAVAILABLE', 'No shard of the job store is reachable.');
    const sum = emptyCounts();
    for (const counts of this.lastCounts) for (const key of Object.keys(sum) as (keyof StoreCounts)[]) sum[key] += counts[key];
    return sum;
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

  /**
   * Each shard's queued + delayed jobs. Read fresh (one small read per shard, in parallel) unless
   * this node read them less than `freshMs` ago and the total it knows, with what it added since
   * and the new batch, is under half the bound: far from the bound, a slightly old view cannot
   * let the system pass it, and the reads would cost every batch a round trip per shard.
   */
  private async depths(adding: number, limit: number): Promise<number[]> {
    if (this.shards.length > 1) {
      let known = adding;
      for (const c of this.lastCounts) known += c.queued + c.delayed;
      if (performance.now() - this.countsReadAt >= freshMs || known > limit / 2) await this.readCounts();
    }
    return this.lastCounts.map((c) => c.queued + c.delayed);
  }

  private async readCounts(): Promise<number> {
    this.countsReadAt = performance.now();
    let answered = 0;
    await Promise.all(
      this.shards.map(async (_, shard) => {
        try {
          this.lastCounts[shard] = await this.on(shard, (store) => store.counts());
          answered++;
        } catch {
          // As last seen: an unreachable shard's counts do not move.
        }
      }),
    );
    return answered;
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

  /** Items grouped by the shard of their job id, as [shard, indexes into items]. */
  private group<T>(items: readonly T[], idOf: (item: T) => string): [number, number[]][] {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < items.length; i++) {
      const shard = this.router.shardOf(idOf(items[i]!));
      const indexes = groups.get(shard);
      if (indexes) indexes.push(i);
      else groups.set(shard, [i]);
    }
    return [...groups];
  }

  /**
   * Every node of a system must split it into the same number of shards, or jobs would be looked
   * for in the wrong place. The first node records the count on shard 0; a node configured with
   * another count refuses to work. Checked once; an unreachable shard 0 postpones the check.
   */
  private ready(): Promise<void> {
    if (this.closed) return Promise.reject(new SystemStateError('STORE_UNAVAILABLE', 'The Redis store is closed.'));
    this.layout ??= this.checkLayout().catch((error: unknown) => {
      if (isUnavailable(error)) {
        this.layout = undefined;
        return;
      }
      throw error;
    });
    return this.layout;
  }

  private async checkLayout(): Promise<void> {
    const key = `{${this.parts.prefix}}:layout`;
    const count = String(this.shards.length);
    let recorded: string | null;
    try {
      const set = await this.parts.clients[0]!.set(key, count, 'NX');
      recorded = set === 'OK' ? count : await this.parts.clients[0]!.get(key);
    } catch (error) {
      throw new SystemStateError('STORE_UNAVAILABLE', `Redis: ${(error as Error).message}`, { cause: error });
    }
    if (recorded !== count) {
      throw new TypeError(
        `This node splits the store "${this.parts.prefix}" into ${count} shards, but it was created with ${recorded}: every node must use the same count (see docs/scaling-out.md).`,
      );
    }
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
