import type { BlobStore } from '../blobs/blob-store.js';
import type { SerializedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OnChildFailure } from '../store/job-store.js';
import type { AnyJobDefinition, JobInput, JobOutput } from './define-job.js';

/** What a job's logic can see and do while it runs. */
export interface JobContext {
  readonly id: string;
  readonly name: string;
  /** 1 on the first try, 2 on the first retry, ... */
  readonly attempt: number;
  readonly parentId: string | undefined;
  readonly rootId: string;
  /** Aborted on cancel, on timeout and on shutdown; `signal.reason` is a `JobError` with the code. */
  readonly signal: AbortSignal;
  /** A logger bound to the job id, name, attempt, parent and root. */
  readonly log: Logger;
  /**
   * The system's blob store (`createJobSystem({ blobs })`), where binary payloads live: a job
   * given a `BlobRef` reads the bytes with `ctx.blobs.open(ref.id)`. Throws when none is set.
   */
  readonly blobs: BlobStore;
  /** Publishes progress: a number in [0, 1] or any JSON value. */
  progress(value: unknown): void;
  /**
   * Starts a child job and resolves with its output. While a parent waits for children it gives
   * its worker back, so trees wider and deeper than the pool still complete.
   *
   * @example
   * const sizes = await Promise.all([64, 256].map((w) => ctx.spawn(thumbnail, { w }, { key: `w${w}` })));
   */
  spawn<J extends AnyJobDefinition>(job: J, input: JobInput<J>, options?: SpawnOptions<'fail-parent'>): Promise<JobOutput<J>>;
  spawn<J extends AnyJobDefinition>(job: J, input: JobInput<J>, options: SpawnOptions<'continue'>): Promise<ChildResult<JobOutput<J>>>;
  spawn<J extends AnyJobDefinition>(job: J, input: JobInput<J>, options: SpawnOptions<'ignore'>): Promise<JobOutput<J> | undefined>;
  /** Declared trees: how the children declared with this job ended, in declaration order. */
  children(): Promise<ChildResult<unknown>[]>;
  /**
   * An upstream answered "too many requests": ends this attempt (throws `RateLimitedError`), puts
   * the job back in the queue without counting the attempt, and holds back every job of this type
   * — of this job's key, for a type limited per key — on every node for `retryAfterMs`.
   *
   * @example
   * if (res.status === 429) ctx.rateLimited(Number(res.headers.get('retry-after') ?? 1) * 1_000);
   */
  rateLimited(retryAfterMs: number): never;
}

export interface SpawnOptions<P extends OnChildFailure = OnChildFailure> {
  /** Unique among this parent's children: spawning the same key again returns the same child. */
  key?: string;
  /** What a failure of this child does to the parent. Default `'fail-parent'`. */
  onFailure?: P;
  priority?: number;
}

/** A settled child, as a value: what `'continue'` spawns and `ctx.children()` give. */
export type ChildResult<O> = { id: string; status: 'completed'; output: O } | { id: string; status: 'failed' | 'cancelled'; error: SerializedError };
