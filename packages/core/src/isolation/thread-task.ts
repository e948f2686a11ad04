import type { ThreadJobInfo } from './thread-protocol.js';

/**
 * What a task running in a worker thread sees. It is a narrow `JobContext`: the thread has no
 * access to the store, so it cannot spawn children or read blobs through the system — a parent
 * job on the main thread does that and hands the thread plain data (bytes, sizes).
 */
export interface ThreadContext extends Readonly<ThreadJobInfo> {
  /** Aborted when the attempt is cancelled, times out or the system stops; `reason.code` says which. */
  readonly signal: AbortSignal;
  /** Publishes progress, as `ctx.progress()` does on the main thread. */
  progress(value: unknown): void;
  /**
   * An upstream answered "too many requests": as `ctx.rateLimited()` on the main thread, it ends
   * the attempt (throws a `RateLimitedError`, which reaches the main thread as a message), puts
   * the job back without counting the attempt and holds back its type — or its key — on every node.
   */
  rateLimited(retryAfterMs: number): never;
}

/** The default export of a thread module: the job's logic, run inside a worker thread. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the module's input is the job's, checked where the job is defined
export type ThreadTask<I = any, O = unknown> = (input: I, ctx: ThreadContext) => O | Promise<O>;

/** A thread module reference that carries its task's types to `defineJob`. */
export interface ThreadModule<Task extends ThreadTask = ThreadTask> {
  readonly url: string;
  readonly '~task'?: Task;
}

/**
 * Names the module a thread job runs, and (through its type argument) the job's input and output
 * types. The module's default export is a `ThreadTask`. The type argument is usually
 * `typeof thatModule` after `import type * as thatModule from './that-module.js'`, so the types come from the module itself.
 *
 * @example
 * import type * as resizeTask from './resize.task.js';
 * const resize = defineJob({
 *   name: 'resize',
 *   isolation: 'thread',
 *   module: threadModule<typeof resizeTask>(new URL('./resize.task.js', import.meta.url)),
 * });
 */
export function threadModule<M extends { default: ThreadTask }>(url: URL | string): ThreadModule<M['default']> {
  const href = url instanceof URL ? url.href : url;
  if (!/^(file|data):/.test(href))
    throw new TypeError(`threadModule: give a file: URL (new URL('./task.js', import.meta.url)), got ${JSON.stringify(href)}`);
  return Object.freeze({ url: href });
}

export type ThreadTaskInput<T> = T extends ThreadModule<infer F> ? (F extends ThreadTask<infer I, unknown> ? I : never) : never;
export type ThreadTaskOutput<T> = T extends ThreadModule<infer F> ? Awaited<ReturnType<F>> : never;
