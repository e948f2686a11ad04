import type { JobStatus } from '../job/job-status.js';

// What an enqueue carries and what it answers (`JobStore.enqueue`, `JobStore.newId`).

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
  /**
   * A callback URL, checked by the system at submit: when the job settles (completed, failed,
   * cancelled) the store adds its `webhook.deliver` job in the same atomic step
   * (webhook/webhook-delivery.ts, `deliveryJobOf`), past the queue bound.
   */
  webhook?: string | undefined;
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
