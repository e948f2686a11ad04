import { setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

let lowered = false;

/**
 * Puts the calling worker thread below the event loop in the OS scheduler (nice 10 by default,
 * `CLASSIFY_NICE`, 0 leaves it). Inference keeps a core busy for hundreds of ms per batch; at a
 * lower priority it still gets every idle cycle, but when the thread that answers requests wakes
 * (a `/health` probe, an upload) the kernel runs that thread first. On Linux a nice value belongs
 * to a thread, so this changes only the calling thread; never the main thread.
 */
export function lowerThreadPriority(): void {
  if (lowered || isMainThread) return;
  lowered = true;
  const nice = Number(process.env['CLASSIFY_NICE'] ?? 10);
  if (!(Number.isInteger(nice) && nice > 0 && nice <= 19)) return;
  try {
    setPriority(0, nice);
  } catch {
    // Not permitted here (a sandbox without setpriority): inference runs at the default priority.
  }
}
