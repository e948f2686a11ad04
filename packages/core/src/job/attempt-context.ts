import type { BlobStore } from '../blobs/blob-store.js';
import { RateLimitedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AnyJobDefinition } from './define-job.js';
import type { ChildResult, JobContext, SpawnOptions } from './job-context.js';
import type { JobAttempt } from './job-attempt.js';

/** The `ctx` a job's logic sees: a narrow view of its attempt (the attempt itself stays out of reach). */
export class AttemptContext implements JobContext {
  readonly #attempt: JobAttempt;

  constructor(attempt: JobAttempt) {
    this.#attempt = attempt;
  }

  get id(): string {
    return this.#attempt.job.id;
  }

  get name(): string {
    return this.#attempt.job.name;
  }

  get attempt(): number {
    return this.#attempt.job.attempt;
  }

  get parentId(): string | undefined {
    return this.#attempt.job.parentId;
  }

  get rootId(): string {
    return this.#attempt.job.rootId;
  }

  get signal(): AbortSignal {
    return this.#attempt.signal;
  }

  get log(): Logger {
    return this.#attempt.log;
  }

  get blobs(): BlobStore {
    const blobs = this.#attempt.host.blobs;
    if (!blobs) throw new TypeError('ctx.blobs: this job system has no blob store (createJobSystem({ blobs }))');
    return blobs;
  }

  progress(value: unknown): void {
    this.#attempt.progress(value);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the typed overloads above narrow it; this is their one implementation
  spawn(definition: AnyJobDefinition, input: unknown, options?: SpawnOptions): Promise<any> {
    return this.#attempt.spawn(definition, input, options);
  }

  children(): Promise<ChildResult<unknown>[]> {
    return this.#attempt.children();
  }

  rateLimited(retryAfterMs: number): never {
    throw new RateLimitedError(retryAfterMs);
  }
}
