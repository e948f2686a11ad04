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
}

export type ToThreadMessage =
  | { type: 'task.run'; taskId: number; module: string; input: unknown; job: ThreadJobInfo }
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
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return typeof code === 'string' ? { name: thrown.name, message: thrown.message, code } : { name: thrown.name, message: thrown.message };
  }
  return { name: 'Error', message: String(thrown) };
}
