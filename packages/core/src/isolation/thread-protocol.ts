/**
 * The messages between a thread pool and its threads. Everything here crosses a structured-clone
 * boundary, so it is plain data: errors travel as `ThreadError`, never as Error instances (their
 * class, `code` and `cause` would not survive the copy).
 */

/** Who the task is, as the thread's `ctx` shows it. */
export interface ThreadJobInfo {
  id: string;
  name: string;
  attempt: number;
  parentId: string | undefined;
  rootId: string;
}

/** An error as it crosses the thread boundary. */
export interface ThreadError {
  name: string;
  message: string;
  /** A scalable-api error code, when the thread threw (or aborted with) one. */
  code?: string;
  /** A `NonRetryableError` or a subclass of it: the attempt fails for good. */
  final?: true;
  /**
   * A `RateLimitedError` (`ctx.rateLimited(ms)` in the thread, or thrown by the task): the main
   * thread rebuilds it, so the job is pushed back like one limited on the main thread.
   */
  retryAfterMs?: number;
}

export type ToThreadMessage =
  /** With `jobs`, a batch: `input` is one input per job and the answer one entry per job. */
  | { type: 'task.run'; taskId: number; module: string; input: unknown; job: ThreadJobInfo; jobs?: ThreadJobInfo[] }
  | { type: 'task.abort'; taskId: number; reason: ThreadError };

export type FromThreadMessage =
  | { type: 'task.progress'; taskId: number; value: unknown }
  | { type: 'task.completed'; taskId: number; output: unknown }
  | { type: 'task.failed'; taskId: number; error: ThreadError };

/** What the pool gives a thread at start (`workerData`). */
export interface ThreadBootData {
  /** A module to import before anything else (a TypeScript loader's register entry), or none. */
  loader: string | undefined;
  /** The thread's main module: `thread-main.ts` from sources, `thread-main.js` once built. */
  entry: string;
}

export function toThreadError(thrown: unknown): ThreadError {
  if (!(thrown instanceof Error)) return { name: 'Error', message: String(thrown) };
  const error: ThreadError = { name: thrown.name, message: thrown.message };
  const code = (thrown as { code?: unknown }).code;
  if (typeof code === 'string') error.code = code;
  if (isNonRetryable(thrown)) error.final = true;
  // By name, as for NonRetryableError: the thread's RateLimitedError is another class object.
  const retryAfterMs = (thrown as { retryAfterMs?: unknown }).retryAfterMs;
  if (thrown.name === 'RateLimitedError' && typeof retryAfterMs === 'number') error.retryAfterMs = retryAfterMs;
  return error;
}

/**
 * By class name along the prototype chain: the thread's copy of `NonRetryableError` is another
 * class object than the main thread's (each thread loads its own modules), so `instanceof` across
 * the two cannot work, and subclasses (`class ImageRejected extends NonRetryableError`) must count.
 */
function isNonRetryable(error: Error): boolean {
  if (error.name === 'NonRetryableError') return true;
  for (let proto: unknown = Object.getPrototypeOf(error); proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === 'NonRetryableError') return true;
  }
  return false;
}

/** How one job's `Error` travels inside a batch's output array (an Error would lose its class and code). */
export interface BatchItemError {
  '~batchError': ThreadError;
}

export function isBatchItemError(item: unknown): item is BatchItemError {
  return typeof item === 'object' && item !== null && Object.hasOwn(item, '~batchError');
}

/** Inside the thread: a batch's answer with its Errors made plain data. */
export function encodeBatchOutput(output: unknown): unknown {
  if (!Array.isArray(output)) return output;
  return output.map((item: unknown) => (item instanceof Error ? ({ '~batchError': toThreadError(item) } satisfies BatchItemError) : item));
}
