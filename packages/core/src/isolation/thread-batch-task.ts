import type { BatchResults } from '../job/batch-job.js';
import type { ThreadJobInfo } from './thread-protocol.js';

/** What a batch task running in a worker thread sees. */
export interface ThreadBatchContext {
  /** Who each input belongs to, in the same order. */
  readonly jobs: readonly Readonly<ThreadJobInfo>[];
  /** Aborted only when every job of the batch has been aborted (cancelled, timed out, shut down). */
  readonly signal: AbortSignal;
  /**
   * An upstream answered "too many requests" for the whole batch: ends the call and puts every
   * job of the batch back without counting their attempts, holding back their type (or each
   * job's key) on every node for `retryAfterMs`. One job alone: answer a `RateLimitedError` as its entry.
   */
  rateLimited(retryAfterMs: number): never;
}

/**
 * The default export of a batch thread module: all the inputs of a batch in, one entry per input
 * out — an output, or an `Error` that fails that job alone.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the module's inputs are the job's, checked where the job is defined
export type ThreadBatchTask<I = any, O = unknown> = (inputs: I[], ctx: ThreadBatchContext) => BatchResults<O> | Promise<BatchResults<O>>;

/** A batch thread module reference that carries its task's types to `defineJob`. */
export interface ThreadBatchModule<Task extends ThreadBatchTask = ThreadBatchTask> {
  readonly url: string;
  readonly '~batchTask'?: Task;
}

/**
 * Names the module a batch job runs in the system's worker threads (`defineJob({ batch,
 * isolation: 'thread', module })`). The module's default export is a `ThreadBatchTask`; it is
 * imported once per thread, so state it keeps at module level (a loaded model) stays warm.
 *
 * @example
 * import type * as classifyTask from './classify.task.js';
 * const classify = defineJob({
 *   name: 'classify',
 *   batch: { max: 8, waitMs: 5 },
 *   isolation: 'thread',
 *   module: threadBatchModule<typeof classifyTask>(new URL('./classify.task.js', import.meta.url)),
 * });
 */
export function threadBatchModule<M extends { default: ThreadBatchTask }>(url: URL | string): ThreadBatchModule<M['default']> {
  const href = url instanceof URL ? url.href : url;
  if (!/^(file|data):/.test(href))
    throw new TypeError(`threadBatchModule: give a file: URL (new URL('./task.js', import.meta.url)), got ${JSON.stringify(href)}`);
  return Object.freeze({ url: href });
}

type Item<R> = R extends BatchResults<infer O> ? Exclude<O, Error> : never;
export type ThreadBatchInput<T> = T extends ThreadBatchModule<infer F> ? (F extends ThreadBatchTask<infer I, unknown> ? I : never) : never;
export type ThreadBatchOutput<T> = T extends ThreadBatchModule<infer F> ? Item<Awaited<ReturnType<F>>> : never;
