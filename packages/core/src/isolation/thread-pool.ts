import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Clock, TimerHandle } from '../clock.js';
import { JobError, NonRetryableError, RateLimitedError, ScalableApiError, errorCodes, type ErrorCode } from '../errors.js';
import { isBatchItemError, type FromThreadMessage, type ThreadError, type ThreadJobInfo, type ToThreadMessage } from './thread-protocol.js';
import { threadBoot } from './thread-boot.js';

export interface ThreadPoolOptions {
  /** Threads at most; tasks beyond wait for a free one. Default: the cores less one, at least 1. */
  max?: number;
  /**
   * Tasks one thread holds at once (as piscina's `concurrentTasksPerWorker`). Default 1. With 2, a
   * busy thread is handed the next task while its current one runs, so the next one's I/O and
   * libuv work (a blob read, sharp's decode) overlap the current one's computation; a thread is
   * only doubled up once every thread holds a task.
   */
  tasksPerThread?: number;
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

/** A task a thread holds: until the thread answers for it, even after an abort settled it. */
interface Held {
  task: Task;
  onAbort: () => void;
  grace: TimerHandle | undefined;
}

interface Slot {
  worker: Worker;
  held: Map<number, Held>;
}

/**
 * A bounded pool of worker threads for CPU-bound jobs. A thread holds `tasksPerThread` tasks at
 * most (default one at a time); the waiting list holds at most one task per attempt that owns a
 * worker actor, so it is bounded by the system's `workers`. Threads start lazily and stay until `close()`.
 *
 * Aborting a task (cancel, timeout, shutdown) is a message to its thread; a thread that has not
 * answered after `graceMs` — a `while (true)` loop never reads its messages — is terminated and a
 * fresh one takes its place. A thread that crashes (uncaught error, `process.exit`, a heap limit)
 * fails its tasks with `THREAD_CRASHED` and is replaced the same way; `onRestart` counts both.
 */
export class ThreadPool {
  readonly max: number;
  private readonly perThread: number;
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
    this.perThread = options.tasksPerThread ?? 1;
    if (!(Number.isInteger(this.perThread) && this.perThread > 0)) throw new TypeError('threads.tasksPerThread must be a positive integer');
    this.graceMs = options.graceMs ?? 1_000;
  }

  /** Runs the module's default export on a thread; settles with its output or its error. */
  run(request: ThreadRun): Promise<unknown> {
    if (this.closed) return Promise.reject(new JobError('THREAD_CRASHED', 'The thread pool is closed.'));
    if (request.signal.aborted) return Promise.reject(request.signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = { ...request, id: this.nextId++, resolve, reject };
      // An idle thread first, then a new one, then the least loaded thread with room.
      let least: Slot | undefined;
      for (const slot of this.slots) if (!least || slot.held.size < least.held.size) least = slot;
      if (least && least.held.size === 0) return this.assign(least, task);
      if (this.slots.size < this.max) return this.assign(this.spawn(), task);
      if (least && least.held.size < this.perThread) return this.assign(least, task);
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
    for (const slot of this.slots) if (slot.held.size > 0) busy++;
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
        for (const task of this.releaseAll(slot)) task.reject(error);
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
    const slot: Slot = { worker, held: new Map() };
    this.slots.add(slot);
    worker.on('message', (message: FromThreadMessage) => this.onMessage(slot, message));
    // 'error' (an uncaught throw in the thread) is always followed by 'exit'; the exit replaces it.
    let crash: Error | undefined;
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => this.onExit(slot, code, crash));
    return slot;
  }

  private assign(slot: Slot, task: Task): void {
    const held: Held = {
      task,
      grace: undefined,
      onAbort: () => {
        const reason: unknown = task.signal.reason;
        const message: ToThreadMessage = { type: 'task.abort', taskId: task.id, reason: abortReason(reason) };
        slot.worker.postMessage(message);
        // The attempt settles at once on abort; the thread keeps the task until it stops or is killed.
        task.reject(reason);
        held.grace = this.clock.setTimeout(() => this.replace(slot, 'ignored an abort'), this.graceMs);
      },
    };
    slot.held.set(task.id, held);
    task.signal.addEventListener('abort', held.onAbort, { once: true });
    const message: ToThreadMessage = { type: 'task.run', taskId: task.id, module: task.module, input: task.input, job: task.job };
    if (task.jobs) message.jobs = task.jobs;
    try {
      slot.worker.postMessage(message);
    } catch (error) {
      // The input cannot be cloned (a function, a socket): the job's fault, not the thread's.
      this.release(slot, task.id)?.reject(
        new NonRetryableError(`The input of ${task.job.name} cannot be sent to a thread: ${(error as Error).message}`, { cause: error }),
      );
      this.next(slot);
    }
  }

  private onMessage(slot: Slot, message: FromThreadMessage): void {
    const task = slot.held.get(message.taskId)?.task;
    if (!task) return;
    if (message.type === 'task.progress') {
      if (!task.signal.aborted) task.progress(message.value);
      return;
    }
    this.release(slot, task.id);
    if (message.type === 'task.completed') task.resolve(task.jobs ? decodeBatchOutput(message.output) : message.output);
    else task.reject(fromThreadError(message.error));
    this.next(slot);
  }

  private onExit(slot: Slot, code: number, crash: Error | undefined): void {
    if (!this.slots.delete(slot)) return;
    const tasks = this.releaseAll(slot);
    if (this.closed) return;
    const reason = crash ? `crashed: ${crash.message}` : `exited with code ${code}`;
    for (const task of tasks)
      task.reject(new JobError('THREAD_CRASHED', `The thread running ${task.job.name} ${reason}.`, crash ? { cause: crash } : {}));
    this.restarted(reason);
  }

  /** Terminates a thread that would not stop and puts a fresh one in its place. */
  private replace(slot: Slot, why: string): void {
    if (!this.slots.delete(slot)) return;
    // The task that ignored its abort is settled already; the others it held die with the thread.
    for (const task of this.releaseAll(slot)) {
      task.reject(new JobError('THREAD_CRASHED', `The thread running ${task.job.name} was terminated: another of its tasks ${why}.`));
    }
    void slot.worker.terminate();
    this.restarted(why);
  }

  private restarted(why: string): void {
    this.restarts++;
    this.onRestart(why);
    if (this.waiting.length > 0 && !this.closed) this.next(this.spawn());
  }

  /** Detaches one held task (listener, grace timer) and returns it. */
  private release(slot: Slot, taskId: number): Task | undefined {
    const held = slot.held.get(taskId);
    if (!held) return undefined;
    slot.held.delete(taskId);
    if (held.grace !== undefined) this.clock.clearTimeout(held.grace);
    held.task.signal.removeEventListener('abort', held.onAbort);
    return held.task;
  }

  private releaseAll(slot: Slot): Task[] {
    return [...slot.held.keys()].map((id) => this.release(slot, id)!);
  }

  private next(slot: Slot): void {
    while (slot.held.size < this.perThread && this.slots.has(slot)) {
      const task = this.waiting.shift();
      if (!task) return;
      this.assign(slot, task);
    }
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
