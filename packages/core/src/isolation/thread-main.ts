import { parentPort } from 'node:worker_threads';
import { RateLimitedError } from '../errors.js';
import { encodeBatchOutput, toThreadError, type FromThreadMessage, type ThreadError, type ToThreadMessage } from './thread-protocol.js';
import type { ThreadBatchContext } from './thread-batch-task.js';
import type { ThreadContext, ThreadTask } from './thread-task.js';

/**
 * The main module of every pool thread. It starts each task as it arrives (the pool sends no more
 * than its `tasksPerThread`, one by default) and answers each with exactly one `task.completed` or `task.failed`.
 * A task that ignores `task.abort` keeps running here; the pool terminates the thread after its
 * grace period, which is why nothing in this file may rely on an abort being honoured.
 */
const port = parentPort;
if (!port) throw new Error('thread-main runs only inside a worker thread');

const modules = new Map<string, Promise<ThreadTask>>();
const running = new Map<number, AbortController>();

function post(message: FromThreadMessage): void {
  port!.postMessage(message);
}

function load(url: string): Promise<ThreadTask> {
  let task = modules.get(url);
  if (!task) {
    task = import(url).then((mod: { default?: unknown }) => {
      if (typeof mod.default !== 'function') throw Object.assign(new Error(`${url} has no default export function`), { name: 'NonRetryableError' });
      return mod.default as ThreadTask;
    });
    // A failed import is not cached: a module fixed on disk loads on the next thread anyway.
    task.catch(() => modules.delete(url));
    modules.set(url, task);
  }
  return task;
}

function abortError(reason: ThreadError): Error {
  const error = new Error(reason.message);
  error.name = reason.name;
  return reason.code === undefined ? error : Object.assign(error, { code: reason.code });
}

async function run(message: Extract<ToThreadMessage, { type: 'task.run' }>): Promise<void> {
  const controller = new AbortController();
  const { taskId } = message;
  running.set(taskId, controller);
  const { jobs } = message;
  // Thrown here, it reaches the main thread as `task.failed` with `retryAfterMs` (toThreadError).
  const rateLimited = (retryAfterMs: number): never => {
    throw new RateLimitedError(retryAfterMs);
  };
  const ctx: ThreadContext | ThreadBatchContext = jobs
    ? { jobs, signal: controller.signal, rateLimited }
    : { ...message.job, signal: controller.signal, progress: (value) => post({ type: 'task.progress', taskId, value }), rateLimited };
  try {
    const task = await load(message.module);
    controller.signal.throwIfAborted();
    const output: unknown = await task(message.input, ctx as ThreadContext);
    post({ type: 'task.completed', taskId, output: jobs ? encodeBatchOutput(output) : output });
  } catch (error) {
    post({ type: 'task.failed', taskId, error: toThreadError(error) });
  } finally {
    running.delete(taskId);
  }
}

port.on('message', (message: ToThreadMessage) => {
  if (message.type === 'task.run') void run(message);
  else running.get(message.taskId)?.abort(abortError(message.reason));
});
