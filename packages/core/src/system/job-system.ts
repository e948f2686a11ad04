import type { ScalableApiError, SerializedError } from '../errors.js';
import type { JobEvent } from '../events.js';
import type { AnyJobDefinition, JobInput, JobOutput } from '../job/define-job.js';
import type { JobStatus } from '../job/job-status.js';
import type { ScheduleInfo, ScheduleOptions } from '../schedule/schedule-control.js';
import type { JobRecord, JobStore, ListPage, ListQuery, OnChildFailure } from '../store/job-store.js';
import type { ScheduleEvery } from '../store/schedule-store.js';
import type { FlowViewOptions, JobTypeFlow } from './flow-view.js';
import type { Health, NodeLiveStore } from './node-state.js';
import type { WaitOptions } from './result-waiters.js';

export type { Health };
// How a system is configured lives beside what it offers; callers import both from here.
export type { JobSystemOptions } from './job-system-options.js';

export interface SubmitOptions {
  /** The same key returns the existing job instead of a new one while that job is retained. */
  idempotencyKey?: string;
  /** A digest of the request; a second submit with the same key and another fingerprint is `IDEMPOTENCY_CONFLICT`. Default: a digest of the input when a key is given. */
  fingerprint?: string;
  /** Higher runs first. Default the job's priority, else 0. */
  priority?: number;
  /** Do not start before this many ms from now. */
  delayMs?: number;
  /** Small opaque strings carried with the job (tenant, trace context). */
  meta?: Record<string, string>;
  /**
   * The tenant the job belongs to (stored as `meta.tenant`, over any tenant in `meta`): over HTTP
   * only callers of this tenant see it. A job without one belongs to no tenant: with API keys no
   * HTTP caller sees it (docs/http-api.md, "Tenants"). 1-128 of `[A-Za-z0-9_.:-]`.
   */
  tenant?: string;
  /**
   * When the job settles (completed, failed or cancelled), POST its outcome to `url`, signed per
   * Standard Webhooks (docs/webhooks.md). Checked at once against the system's `webhooks`
   * allowlist (`WEBHOOK_REFUSED`); delivered by a durable `webhook.deliver` job with retries.
   */
  webhook?: { url: string };
}

/** Options of `submitTree`: `tenant` applies to every job of the tree, `webhook` to its root. */
export type SubmitTreeOptions = Pick<SubmitOptions, 'tenant' | 'webhook'>;

/** One job of a `submitMany` batch: its input and its own submit options. */
export interface SubmitManyItem<Input = unknown> extends SubmitOptions {
  input: Input;
}

export interface SubmitManyOptions {
  /**
   * All or none: when any item is invalid or refused (its input, its idempotency key, the queue
   * bound), no item is enqueued; the refused items carry their error, the others `BATCH_ABORTED`.
   * On a sharded store the batch is atomic per shard (keyed items live in their key's shard).
   */
  atomic?: boolean;
}

/** What became of one item of a `submitMany` batch, in the order of the items. */
export type SubmitManyResult<Output = unknown> = { ok: true; handle: JobHandle<Output> } | { ok: false; error: ScalableApiError };

export interface JobHandle<Output = unknown> {
  readonly id: string;
  /** `false` when an idempotency key matched an existing job. */
  readonly created: boolean;
  /** Status at submit time. */
  readonly status: JobStatus;
  /**
   * The job's output; rejects with a `JobError` (`JOB_FAILED`, `JOB_TIMEOUT`, `JOB_CANCELLED`, ...).
   * With `signal`, aborting it stops waiting (the job goes on) and frees the waiter.
   */
  result(options?: WaitOptions): Promise<Output>;
  /** Cancels the job and its subtree. */
  cancel(): Promise<CancelResult>;
}

export type CancelResult = 'cancelled' | 'cancelling' | 'settled' | 'not_found';

/** A job as `get()` shows it. */
export type JobInfo = JobRecord;

export interface TreeNode {
  id: string;
  name: string;
  status: JobStatus;
  attempt: number;
  progress: unknown;
  /** Mean of the children's progress (a settled child counts 1), or the job's own numeric progress. */
  aggregateProgress: number;
  output: unknown;
  error: SerializedError | undefined;
  onFailure: OnChildFailure;
  children: TreeNode[];
}

/** A whole tree submitted at once: children run first, then the parent with their results (`ctx.children()`). */
export interface TreeSpec<J extends AnyJobDefinition = AnyJobDefinition> {
  job: J;
  input: JobInput<J>;
  children?: readonly TreeSpec[];
  /** What this node's failure does to its parent. */
  onFailure?: OnChildFailure;
  priority?: number;
}

export interface JobSystemStats {
  health: Health;
  queued: number;
  delayed: number;
  running: number;
  waitingChildren: number;
  workers: number;
  idleWorkers: number;
  waitingParents: number;
  /** Live xstate actors owned by this system (supervisor, dispatcher, workers, parents, machine jobs). */
  actors: number;
  restarts: number;
  /** Jobs settled since this system started (with a shared store: cluster-wide, as seen here). */
  completed: number;
  failed: number;
  cancelled: number;
  submitted: number;
  rejected: number;
  /** Per second, over the last 10 seconds. */
  rates: { submitted: number; completed: number; failed: number };
}

export interface StopOptions {
  /** Let queued and running jobs finish (up to `timeoutMs`) before stopping. Default true. */
  drain?: boolean;
  /** After this long, running jobs are aborted and handed back. Default 30 s. */
  timeoutMs?: number;
}

export interface EventsOptions {
  /** Events buffered for a slow reader before it is cut off with `EVENTS_OVERFLOW`. Default 10,000. */
  bufferSize?: number;
  /** Only events of this job (and, with `tree`, its descendants). */
  jobId?: string;
  tree?: boolean;
}

export interface JobSystem<Jobs extends readonly AnyJobDefinition[] = readonly AnyJobDefinition[]> {
  readonly nodeId: string;
  readonly store: JobStore;
  /** The registered job definitions by name. */
  readonly jobs: ReadonlyMap<string, Jobs[number]>;
  start(): Promise<void>;
  stop(options?: StopOptions): Promise<void>;
  submit<J extends Jobs[number]>(job: J, input: JobInput<J>, options?: SubmitOptions): Promise<JobHandle<JobOutput<J>>>;
  /** Submit by name, for callers that only have a string (the HTTP adapter); input is validated the same way. */
  submitByName(name: string, input: unknown, options?: SubmitOptions): Promise<JobHandle>;
  submitTree<J extends Jobs[number]>(tree: TreeSpec<J>, options?: SubmitTreeOptions): Promise<JobHandle<JobOutput<J>>>;
  /**
   * Many jobs of one type in one store call: each item validated by the job's schema and answered
   * on its own (a handle or an error), in order. Rejects as a whole only when nothing could be
   * tried: the node does not take work, the job is unknown, more than `queue.maxBatch` items
   * (`BATCH_TOO_LARGE`), or the store did not answer.
   *
   * @example
   * const results = await system.submitMany(resize, [{ input: { width: 64 } }, { input: { width: 256 }, idempotencyKey: 'w256' }], { atomic: true });
   * for (const r of results) console.log(r.ok ? r.handle.id : r.error.code);
   */
  submitMany<J extends Jobs[number]>(
    job: J,
    items: readonly SubmitManyItem<JobInput<J>>[],
    options?: SubmitManyOptions,
  ): Promise<SubmitManyResult<JobOutput<J>>[]>;
  /** `submitMany` by name, for callers that only have a string (the HTTP adapter). */
  submitManyByName(name: string, items: readonly SubmitManyItem[], options?: SubmitManyOptions): Promise<SubmitManyResult[]>;
  handle<O = unknown>(id: string): JobHandle<O>;
  get(id: string): Promise<JobInfo | undefined>;
  /**
   * Jobs in submission order, filtered by status, name, creation time and tenant, a page at a
   * time: pass the page's `cursor` back for the next (see `JobStore.list` for the bounds).
   *
   * @example
   * const { jobs, cursor } = await system.list({ status: 'failed', limit: 50 });
   */
  list(query: ListQuery): Promise<ListPage>;
  tree(id: string, options?: { maxNodes?: number }): Promise<TreeNode | undefined>;
  cancel(id: string): Promise<CancelResult>;
  /** Async iterable of job events, bounded per reader. */
  events(options?: EventsOptions): AsyncIterableIterator<JobEvent>;
  stats(): Promise<JobSystemStats>;
  health(): Health;
  /**
   * Resolves with the job's output or rejects with its error, whenever (and wherever) it settles.
   * Bounded (`results.maxWaiters`); aborting `signal` gives up and frees the waiter.
   *
   * @example
   * const output = await system.waitResult(id, { signal: AbortSignal.timeout(30_000) });
   */
  waitResult(id: string, options?: WaitOptions): Promise<unknown>;
  /**
   * Creates or replaces the schedule `key`: every tick of `every` runs `job` with `input`, exactly
   * once across all nodes of the store. Declaring the same schedule again (every node at start)
   * keeps its next tick. Fails with `NOT_SUPPORTED` on a store without schedules.
   *
   * @example
   * await system.schedule('nightly-report', report, { scope: 'all' }, { cron: '0 3 * * *', tz: 'Europe/Berlin' }, { overlap: 'skip' });
   */
  schedule<J extends Jobs[number]>(key: string, job: J, input: JobInput<J>, every: ScheduleEvery, options?: ScheduleOptions): Promise<ScheduleInfo>;
  /** `schedule` by job name, for callers that only have a string (the HTTP adapter). */
  scheduleByName(key: string, name: string, input: unknown, every: ScheduleEvery, options?: ScheduleOptions): Promise<ScheduleInfo>;
  /** Every schedule, ordered by next tick (`nextAt`). */
  schedules(): Promise<ScheduleInfo[]>;
  /** Removes a schedule; `false` when there was none. Jobs it already made run on. */
  unschedule(key: string): Promise<boolean>;
  /**
   * Stops every node from starting jobs of type `name` until `resume(name)`; queued ones stay
   * queued (and counted), running ones finish.
   *
   * @example
   * await system.pause('thumbnail'); // the image service is down
   */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  /** The paused job types. */
  paused(): Promise<string[]>;
  /**
   * Flow control as the store holds it, per job type: its rate limit and whether it is held back
   * (tokens, `heldUntil`, a push-back's end), paused or not, and its flow keys with the most
   * queued (`running` under a per-key concurrency limit). Bounded: see `FlowViewOptions`.
   *
   * @example
   * const [api] = await system.flow({ names: ['call-api'] }); // api.heldUntil, api.top[0].queued
   */
  flow(options?: FlowViewOptions): Promise<JobTypeFlow[]>;
  /**
   * The node's live state in an `@xstate/store` store, read-only: health, counters, rates and
   * the actors view. Subscribe instead of polling `stats()`.
   *
   * @example
   * system.live.select((s) => s.health).subscribe((health) => console.log(health));
   */
  readonly live: NodeLiveStore;
}
