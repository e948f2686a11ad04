import type { Logger } from '../logger.js';
import type { JobContext } from './job-context.js';

/** How a batch job's attempts are grouped on one node. */
export interface BatchOptions {
  /** At most this many jobs run in one call. Each still holds its own worker, so `workers` bounds it too. */
  max: number;
  /**
   * How long the first job of a forming batch waits for more before the batch runs anyway. A
   * batch that reaches `max` runs at once. 0 runs whatever arrived in the same claim.
   */
  waitMs: number;
}

/** What `runBatch` sees: each job's own context (same order as the inputs) and the batch's signal. */
export interface BatchContext {
  /** One per input: `jobs[i].signal` is that job's own cancel/timeout, `jobs[i].spawn` its children. */
  readonly jobs: readonly JobContext[];
  /** Aborted only when every job of the batch has been aborted: nobody waits for the result any more. */
  readonly signal: AbortSignal;
  /** A logger bound to the job name and the batch size. */
  readonly log: Logger;
  /**
   * An upstream answered "too many requests" for the whole batch: ends the call (throws a
   * `RateLimitedError`) and puts every job of the batch back without counting their attempts,
   * holding back the job type — or each job's key, for a type limited per key — on every node for
   * `retryAfterMs`. For one job alone, answer a `RateLimitedError` as its entry.
   *
   * @example
   * if (res.status === 429) ctx.rateLimited(Number(res.headers.get('retry-after') ?? 1) * 1_000);
   */
  rateLimited(retryAfterMs: number): never;
}

/**
 * One entry per input, in the same order: the job's output, or an `Error` that fails that job
 * alone (through its retry policy; a `NonRetryableError` fails it for good).
 */
export type BatchResults<O> = readonly (O | Error)[];

/** The most jobs one batch may hold, whatever `batch.max` asks: a bound like every other. */
export const maxBatchSize = 1_024;

/** Checks `batch` as `defineJob` takes it; throws a `TypeError` naming the job. */
export function checkBatchOptions(name: string, batch: BatchOptions): Readonly<BatchOptions> {
  if (!(Number.isInteger(batch.max) && batch.max >= 1 && batch.max <= maxBatchSize)) {
    throw new TypeError(`defineJob(${name}): batch.max must be an integer from 1 to ${maxBatchSize}`);
  }
  if (!(typeof batch.waitMs === 'number' && Number.isFinite(batch.waitMs) && batch.waitMs >= 0)) {
    throw new TypeError(`defineJob(${name}): batch.waitMs must be a finite number of ms, 0 or more`);
  }
  return Object.freeze({ max: batch.max, waitMs: batch.waitMs });
}
