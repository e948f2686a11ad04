import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Clock, TimerHandle } from '../clock.js';
import { JobError, NonRetryableError, RateLimitedError, ScalableApiError, errorCodes, type ErrorCode } from '../errors.js';
import { isBatchItemError, type FromThreadMessage, type ThreadError, type ThreadJobInfo, type ToThreadMessage } from './thread-protocol.js';
import { threadBoot } from './thread-boot.js';

export interface ThreadPoolOptions {
  /** Threads at most; tasks beyond wait for a free one. Default: the cores less one, at least 1. */
  max?: number;
  /** How long a thread may ignore an abort before it is terminated and replaced. Default 1,000 ms. */
  graceMs?: number;
  /** Heap limits per thread (see `worker_threads.ResourceLimits`): a thread past them crashes alone. */
  resourceLimits?: ResourceLimits;
  /** A module each thread imports first, e.g. a TypeScript loader. Default: tsx when running from sources. */
  loader?: string;
}

export interface ThreadPoolStats {
  max: number;
  threads: number;
  busy: number;
  queued: number;
  /** Threads replaced because they crashed or ignored an abort past the grace period. */
  restarts: number;
}

export interface ThreadRun {
  module: string;
  input: unknown;
  job: ThreadJobInfo;
  /** A batch (`input` is an array, one per job): each `Error` of the answer comes back as an Error. */
  jobs?: ThreadJobInfo[];
  signal: AbortSignal;
  progress(value: unknown): void;
}

interface Task extends ThreadRun {
  id: number;
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
  grace: TimerHandle | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A bounded pool of worker threads for CPU-bound jobs. A thread runs one task at a time; the
 * waiting list holds at most one task per attempt that owns a worker actor, so it is bounded by
 * the system's `workers`. Threads start lazily and stay until `close()`.
 *
 * Aborting a task (cancel, timeout, shutdown) is a message to its thread; a thread that has not
 * answered after `graceMs` — a `while (true)` loop never reads its messages — is terminated and a
 * fresh one takes its place. A thread that crashes (uncaught error, `process.exit`, a heap limit)
 * fails its task with `THREAD_CRASHED` and is replaced the same way; `onRestart` counts both.
 */
export class ThreadPool {
  readonly max: number;
  private readonly graceMs: number;
  private readonly slots = new Set<Slot>();
  private readonly waiting: Task[] = [];
  private nextId = 1;
  private restarts = 0;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: ThreadPoolOptions = {},
    private readonly onRestart: (reason: string) => void = () => {},
  ) {
    this.max = options.max ?? Math.max(1, availableParallelism() - 1);
    if (!(Number.isInteger(this.max) && this.max > 0)) throw new TypeError('threads.max must be a positive integer');
    this.graceMs = options.graceMs ?? 1_000;
  }

  /** Runs the module's default export on a thread; settles with its output or its error. */
  run(request: ThreadRun): Promise<unknown> {
    if (this.closed) return Promise.reject(new JobError('THREAD_CRASHED', 'The thread pool is closed.'));
    if (request.signal.aborted) return Promise.reject(request.signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = { ...request, id: this.nextId++, resolve, reject };
      const free = [...this.slots].find((slot) => slot.task === undefined);
      if (free) return this.assign(free, task);
      if (this.slots.size < this.max) return this.assign(this.spawn(), task);
      this.waiting.push(task);
      // A task cancelled while it waits never reaches a thread.
      request.signal.addEventListener(
        'abort',
        () => {
          const index = this.waiting.indexOf(task);
          if (index >= 0) {
            this.waiting.splice(index, 1);
            reject(request.signal.reason);
          }
        },
        { once: true },
      );
    });
  }

  stats(): ThreadPoolStats {
    let busy = 0;
    for (const slot of this.slots) if (slot.task) busy++;
    return { max: this.max, threads: this.slots.size, busy, queued: this.waiting.length, restarts: this.restarts };
  }

  /** Terminates every thread; running and waiting tasks fail with `THREAD_CRASHED`. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new JobError('THREAD_CRASHED', 'The thread pool closed while the task ran.');
    for (const task of this.waiting.splice(0)) task.reject(error);
    const slots = [...this.slots];
    this.slots.clear();
    await Promise.all(
      slots.map((slot) => {
        this.release(slot)?.reject(error);
        return slot.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const boot = threadBoot(this.options.loader);
    const worker = new Worker(boot.code, {
      eval: true,
      workerData: boot.data,
      execArgv: boot.execArgv,
      ...(this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {}),
    });
    const slot: Slot = { worker, task: undefined, grace: undefined, onAbort: undefined };
    this.slots.add(slot);
    worker.on('message', (message: FromThreadMessage) => this.onMessage(slot, message));
    // 'error' (an uncaught throw in the thread) is always followed by 'exit'; the exit replaces it.
    let crash: Error | undefined;
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => this.onExit(slot, code, crash));
    return slot;
  }

  private assign(slot: Slot, task: Task): void {
    slot.task = task;
    slot.onAbort = () => {
      const reason: unknown = task.signal.reason;
      const message: ToThreadMessage = { type: 'task.abort', taskId: task.id, reason: abortReason(reason) };
      slot.worker.postMessage(message);
      // The attempt settles at once on abort; the thread keeps its slot until it stops or is killed.
      task.reject(reason);
      slot.grace = this.clock.setTimeout(() => this.replace(slot, 'ignored an abort'), this.graceMs);
    };
    task.signal.addEventListener('abort', slot.onAbort, { once: true });
    const message: ToThreadMessage = { type: 'task.run', taskId: task.id, module: task.module, input: task.input, job: task.job };
    if (task.jobs) message.jobs = task.jobs;
    try {
      slot.worker.postMessage(message);
    } catch (error) {
      // The input cannot be cloned (a function, a socket): the job's fault, not the thread's.
      this.release(slot)?.reject(
        new NonRetryableError(`The input of ${task.job.name} cannot be sent to a thread: ${(error as Error).message}`, { cause: error }),
      );
      this.next(slot);
    }
  }

  private onMessage(slot: Slot, message: FromThreadMessage): void {
    const task = slot.task;
    if (!task || task.id !== message.taskId) return;
    if (message.type === 'task.progress') {
      if (!task.signal.aborted) task.progress(message.value);
      return;
    }
    this.release(slot);
    if (message.type === 'task.completed') task.resolve(task.jobs ? decodeBatchOutput(message.output) : message.output);
    else task.reject(fromThreadError(message.error));
    this.next(slot);
  }

  private onExit(slot: Slot, code: number, crash: Error | undefined): void {
    if (!this.slots.delete(slot)) return;
    const task = this.release(slot);
    if (this.closed) return;
    const reason = crash ? `crashed: ${crash.message}` : `exited with code ${code}`;
    task?.reject(new JobError('THREAD_CRASHED', `The thread running ${task.job.name} ${reason}.`, crash ? { cause: crash } : {}));
    this.restarted(reason);
  }

  /** Terminates a thread that would not stop and puts a fresh one in its place. */
  private replace(slot: Slot, why: string): void {
    if (!this.slots.delete(slot)) return;
    this.release(slot);
    void slot.worker.terminate();
    this.restarted(why);
  }

  private restarted(why: string): void {
    this.restarts++;
    this.onRestart(why);
    const task = this.waiting.shift();
    if (task && !this.closed) this.assign(this.spawn(), task);
  }

  /** Detaches the slot's task (listeners, grace timer) and returns it. */
  private release(slot: Slot): Task | undefined {
    const task = slot.task;
    if (slot.grace !== undefined) this.clock.clearTimeout(slot.grace);
    if (task && slot.onAbort) task.signal.removeEventListener('abort', slot.onAbort);
    slot.task = undefined;
    slot.grace = undefined;
    slot.onAbort = undefined;
    return task;
  }

  private next(slot: Slot): void {
    const task = this.waiting.shift();
    if (task) this.assign(slot, task);
  }
}

function abortReason(reason: unknown): ThreadError {
  if (reason instanceof ScalableApiError) return { name: reason.name, message: reason.message, code: reason.code };
  if (reason instanceof Error) return { name: reason.name, message: reason.message };
  return { name: 'AbortError', message: String(reason) };
}

function decodeBatchOutput(output: unknown): unknown {
  if (!Array.isArray(output)) return output;
  return output.map((item: unknown) => (isBatchItemError(item) ? fromThreadError(item['~batchError']) : item));
}

/** Rebuilds what the task threw so the attempt treats it as it would an inline throw. */
function fromThreadError(error: ThreadError): Error {
  if (error.final) return Object.assign(new NonRetryableError(error.message), { name: error.name });
  if (error.retryAfterMs !== undefined) return new RateLimitedError(error.retryAfterMs, error.message);
  if (error.code !== undefined && Object.hasOwn(errorCodes, error.code)) {
    return new ScalableApiError(error.code as ErrorCode, error.message);
  }
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return error.code === undefined ? rebuilt : Object.assign(rebuilt, { code: error.code });
}
