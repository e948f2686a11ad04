import type { SerializedError } from '../errors.js';
import type { JobEvent } from '../events.js';
import type { FlowNameStats, FlowStatsQuery } from './flow-stats.js';
import type { ClaimRequest, ClaimResult, LeaseRef, RenewOutcome } from './claim-request.js';
import type { JobRecord, ListPage, ListQuery, StoreCounts } from './job-record.js';
import type { EnqueueOptions, EnqueueOutcome, JobPlacement, NewJob } from './new-job.js';
import type { PauseStore, ScheduleStore } from './schedule-store.js';
import type { CancelOutcome, Settlement, SettleOutcome } from './settlement.js';
import type { StoreListener } from './store-signal.js';

// The contract's types live by concept beside it and are re-exported here, so every caller
// imports the contract from one place.
export type { ClaimedJob, ClaimRequest, ClaimResult, FlowControl, LeaseRef, RenewOutcome } from './claim-request.js';
export { maxListLimit } from './job-record.js';
export type { JobRecord, ListPage, ListQuery, StoreCounts } from './job-record.js';
export type { EnqueueOptions, EnqueueOutcome, JobPlacement, NewJob, OnChildFailure } from './new-job.js';
export type { CancelOutcome, PushBack, Settlement, SettleOutcome } from './settlement.js';
export type { StoreListener, StoreSignal } from './store-signal.js';

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
   * Optional: the flow control of some job names as the store holds it now — each name's gate
   * (rate limit, push-back), its queued entries, and its flow keys with the most queued, each
   * with its own gate and running count (see `FlowStatsQuery` for the bounds). Reads only.
   */
  flowStats?(query: FlowStatsQuery): Promise<FlowNameStats[]>;

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
