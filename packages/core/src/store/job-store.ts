import type { SerializedError } from '../errors.js';
import type { JobEvent } from '../events.js';
import type { JobStatus } from '../job/job-status.js';
import type { PauseStore, ScheduleStore } from './schedule-store.js';

/**
 * The store contract: the source of truth for jobs. The memory store and the Redis store both
 * implement it and both pass `runStoreConformance` (`@scalable-api/core/testing/conformance`).
 *
 * Every operation that sits on the hot path takes a batch, so one round trip carries many jobs;
 * the runtime groups calls made in the same tick. Every state change that needs to be atomic
 * (the queue bound, idempotency and spawn keys, fencing, a parent's pending-children count) is
 * atomic inside one call.
 *
 * Schedules (`ScheduleStore`) and paused job types (`PauseStore`) are optional: a store without
 * them makes `system.schedule()` and `system.pause()` fail with `NOT_SUPPORTED`.
 */
export interface JobStore extends Partial<ScheduleStore>, Partial<PauseStore> {
  /** `false` for the memory store: a crash loses what it holds. Shown to users in the 202 body. */
  readonly durable: boolean;

  /** Adds jobs. Each is refused with `QUEUE_FULL` if the number of queued and delayed jobs would pass `limit`. */
  enqueue(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]>;

  /**
   * Hands out up to `max` ready jobs under a lease owned by `owner`. A job whose cancel was
   * requested while it ran and whose lease then ran out is settled `cancelled`, never handed out.
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;

  /**
   * Optional: `claim` without a round trip, for a store whose jobs live in this process (the
   * memory store). The dispatcher then routes a job in the same step that learnt of it.
   */
  claimNow?(request: ClaimRequest): ClaimResult;

  /**
   * Extends leases. Each answer says whether the lease is still held and, if it is, whether a
   * cancel was requested for the job: the store is the record of a cancel, so a running attempt
   * learns of it within one renew interval even when the `job.cancel.requested` signal was lost.
   */
  renew(leases: readonly LeaseRef[], leaseMs: number): Promise<RenewOutcome[]>;

  /**
   * Records of many jobs in one round trip (`undefined` for an unknown id), in the order asked.
   * Reconciliation reads through it: after a lost signal, waiting parents, result waiters and
   * event streams re-derive what they missed from the records.
   */
  getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]>;

  /** Records how attempts ended. A settlement whose token is not the job's current one is `stale` and changes nothing. */
  settle(settlements: readonly Settlement[]): Promise<SettleOutcome[]>;

  /** Moves a held job between `running` and `waitingChildren` (a parent that gave back its worker). */
  setWaiting(lease: LeaseRef, waiting: boolean): Promise<boolean>;

  /** Records progress of a held job and publishes it. */
  progress(lease: LeaseRef, value: unknown): Promise<boolean>;

  /**
   * Cancels a job and its whole subtree. Queued, delayed and waiting-for-children jobs are
   * cancelled at once; a running job is marked and a `job.cancel.requested` signal goes to its
   * owner, whose settlement then records `cancelled`.
   */
  cancel(id: string, reason?: SerializedError): Promise<CancelOutcome>;

  get(id: string): Promise<JobRecord | undefined>;

  /** Direct children of a job, in spawn order. */
  children(id: string): Promise<JobRecord[]>;

  /** A job's events after `afterSeq` (0 for all), oldest first. Bounded per job by the store. */
  events(id: string, afterSeq: number): Promise<JobEvent[]>;

  counts(): Promise<StoreCounts>;

  /**
   * Jobs in submission order (oldest first), filtered, a page at a time: pass the answer's
   * `cursor` back for the next page; no `cursor` means there is nothing after. Bounded twice: a
   * page holds at most `limit` jobs (at most `maxListLimit`), and one call examines a bounded
   * number of jobs, so a page may come back short, even empty, with a `cursor` to go on from. A
   * job is listed at most once across the pages of one walk; one that changes status meanwhile
   * is listed with the status it has when its page is read.
   */
  list(query: ListQuery): Promise<ListPage>;

  /**
   * Signals for every node: work to claim, job events, cancellations of running jobs. They are
   * hints, never the record: a store may lose some (a subscriber connection dropped) and then
   * sends `signals.resumed`, after which listeners re-derive their state from the records.
   */
  subscribe(listener: StoreListener): () => void;

  /**
   * Optional: the id for a new job. A store split into shards names the shard in the id, so a
   * child lands in its tree's shard (`parentId`) and an idempotency key always in the same one.
   * Without it, ids come from `newJobId()`.
   */
  newId?(placement: JobPlacement): string;

  close(): Promise<void>;
}

export type OnChildFailure = 'fail-parent' | 'continue' | 'ignore';

export interface NewJob {
  id: string;
  name: string;
  input: unknown;
  /** Higher runs first; equal priorities run in submission order. */
  priority: number;
  /** Epoch ms before which the job must not run; unset or past means ready now. */
  runAt?: number | undefined;
  idempotencyKey?: string | undefined;
  /** A digest of the input; a second submit with the same key and another fingerprint is a conflict. */
  fingerprint?: string | undefined;
  parentId?: string | undefined;
  rootId?: string | undefined;
  /**
   * The fencing token of the parent's attempt that spawns this job: a spawn from an attempt that
   * no longer holds the parent (a zombie after a lapsed lease) is refused with `LEASE_LOST`.
   * Unset for declared trees (the parent is in the same batch) and for jobs without a parent.
   */
  parentToken?: number | undefined;
  /** Unique among the children of `parentId`: a second spawn with the key returns the first child. */
  childKey?: string | undefined;
  /** What the parent does when this child fails. */
  onFailure?: OnChildFailure | undefined;
  /**
   * Declared trees: the job starts in `waitingChildren` and is queued when this many children
   * (enqueued in the same batch, pointing at it) have settled.
   */
  awaitChildren?: number | undefined;
  /** Small opaque data carried with the job (tenant, trace context). */
  meta?: Record<string, string> | undefined;
  /**
   * The job's flow key (its tenant by default, see docs/flow-control.md): jobs of one name with
   * different keys are claimed in turns, and a keyed rate limit or a per-key concurrency limit
   * counts per key. Unset: the name's plain queue.
   */
  key?: string | undefined;
}

export interface EnqueueOptions {
  /** The bound on queued plus delayed jobs across the whole store. */
  limit: number;
  /**
   * All or nothing: when the bound cannot take every new job of the batch, none is added and
   * each gets `QUEUE_FULL`. A declared tree needs this, or a parent could wait for children
   * that were refused. Likewise when a job's idempotency key is held by a job of another name or
   * fingerprint: none is added, that job answers as found (`created: false`, so the caller sees
   * the conflict) and every other one `BATCH_ABORTED` (`submitMany`'s atomic batches).
   */
  atomic?: boolean | undefined;
}

export type EnqueueOutcome =
  | { ok: true; id: string; created: true; status: JobStatus }
  | { ok: true; id: string; created: false; status: JobStatus; name: string; fingerprint: string | undefined }
  | { ok: false; code: 'QUEUE_FULL' | 'JOB_NOT_FOUND' | 'LEASE_LOST' }
  /** An atomic batch refused because of another of its jobs (see `EnqueueOptions.atomic`). */
  | { ok: false; code: 'BATCH_ABORTED' }
  /** A store split into shards: this job's shard did not answer, while others of the batch were stored. */
  | { ok: false; code: 'STORE_UNAVAILABLE' };

/** Where a new job should live; see `JobStore.newId`. */
export interface JobPlacement {
  parentId?: string | undefined;
  idempotencyKey?: string | undefined;
  /** A schedule's job lives beside its schedule, so one atomic step takes the tick and enqueues it. */
  scheduleKey?: string | undefined;
}

export interface ClaimRequest {
  /** Identifies the claiming node; leases and cancel signals name it. */
  owner: string;
  max: number;
  leaseMs: number;
  /** Job names this node can run; unset means all. */
  names?: readonly string[] | undefined;
  /** For job names with a concurrency limit: how many more this node may start now. Paused job types are never handed out. */
  capacity?: ReadonlyMap<string, number> | undefined;
  /** Flow control held by the store across nodes, per job name (rate limits, fair-share weights, per-key concurrency). */
  flow?: ReadonlyMap<string, FlowControl> | undefined;
}

/**
 * What the store enforces at claim time for one job name, whichever node claims. Every node
 * passes the same, from the job's definition (`defineJob({ rateLimit, fairShare })`).
 */
export interface FlowControl {
  /**
   * At most `max` claims per `perMs` (a token bucket of `max` that refills at `max / perMs`),
   * for the whole name, or per flow key when `perKey` is set. A job over the limit stays queued
   * (no attempt counted) and the claim's `nextRunAt` says when the limit lets the next one go.
   */
  rate?: { max: number; perMs: number; perKey: boolean } | undefined;
  /** Jobs one key takes per turn (default 1). */
  weights?: Readonly<Record<string, number>> | undefined;
  /** At most this many held jobs (running or waiting for children) per flow key, across all nodes. */
  concurrencyPerKey?: number | undefined;
}

export interface ClaimResult {
  jobs: ClaimedJob[];
  /** When the earliest delayed job falls due, so the dispatcher can wake for it. */
  nextRunAt: number | undefined;
}

export interface LeaseRef {
  id: string;
  /** The fencing token of this attempt: it grows with every claim of the job. */
  token: number;
}

export interface ClaimedJob extends LeaseRef {
  name: string;
  input: unknown;
  attempt: number;
  priority: number;
  parentId: string | undefined;
  rootId: string;
  createdAt: number;
  meta: Record<string, string> | undefined;
}

export type Settlement = LeaseRef &
  (
    | { outcome: 'completed'; output: unknown }
    | { outcome: 'failed'; error: SerializedError }
    | { outcome: 'cancelled'; error: SerializedError }
    | { outcome: 'retry'; error: SerializedError; runAt: number }
    /**
     * Handed back by a node that is stopping or could not use the claim: queued again at once,
     * the attempt not counted (the next claim has the same `attempt`) and no stall recorded. A
     * job whose cancel was requested is settled `cancelled` instead.
     *
     * `pushBack` (a job that met an upstream rate limit, `ctx.rateLimited`): nothing of the job's
     * name — or of its flow `key`, when given — is claimed before `until`.
     */
    | { outcome: 'released'; pushBack?: PushBack | undefined }
  );

/** Holds back claims of a job name, or of one flow key of it, until `until` (epoch ms). */
export interface PushBack {
  key?: string | undefined;
  until: number;
}

/** A renewal's answer: still held (perhaps with a cancel to act on), or lost to expiry or settlement. */
export type RenewOutcome = { held: true; cancel?: SerializedError | undefined } | { held: false };

export type SettleOutcome = 'ok' | 'stale';

export type CancelOutcome = 'cancelled' | 'cancelling' | 'settled' | 'not_found';

export interface JobRecord {
  id: string;
  name: string;
  status: JobStatus;
  input: unknown;
  priority: number;
  attempt: number;
  createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  runAt: number | undefined;
  progress: unknown;
  output: unknown;
  error: SerializedError | undefined;
  parentId: string | undefined;
  rootId: string;
  childKey: string | undefined;
  onFailure: OnChildFailure;
  /** Children spawned or declared, and how many of them have not settled yet. */
  childCount: number;
  pendingChildren: number;
  idempotencyKey: string | undefined;
  meta: Record<string, string> | undefined;
}

/** The most jobs one `list` page holds, whatever `limit` asks. */
export const maxListLimit = 1_000;

export interface ListQuery {
  status?: JobStatus | undefined;
  name?: string | undefined;
  /** Only jobs created at or after this time (epoch ms). */
  since?: number | undefined;
  /**
   * Only jobs whose `meta.tenant` is this tenant. Unset lists every job, whatever its tenant: a
   * caller that serves several tenants always sets it.
   */
  tenant?: string | undefined;
  /** From the previous page's answer; opaque, and only for the store that gave it. */
  cursor?: string | undefined;
  /** At most this many jobs (capped at `maxListLimit`). */
  limit: number;
}

export interface ListPage {
  jobs: JobRecord[];
  /** Present when the walk may go on: pass it back as `cursor`. */
  cursor?: string | undefined;
}

/** How many jobs the store holds in each status (`zeroCounts()` is the empty one). */
export type StoreCounts = Record<JobStatus, number>;

export type StoreSignal =
  | { type: 'work.available' }
  | { type: 'job.event'; event: JobEvent }
  | { type: 'job.cancel.requested'; id: string; owner: string; reason: SerializedError }
  /** A job (with its subtree) left retention; whatever it referenced (blobs) can go. */
  | { type: 'job.dropped'; id: string; meta: Record<string, string> | undefined }
  /** Signals may have been lost (the subscriber reconnected): re-derive from the records. */
  | { type: 'signals.resumed' };

export type StoreListener = (signal: StoreSignal) => void;
