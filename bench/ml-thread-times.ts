/**
 * Per-thread scheduler times of this process on Linux (/proc/self/task/<tid>/schedstat: ns on a
 * CPU, ns runnable but waiting for one), for bench/ml-variant.ts: how the inference thread spent
 * a run — computing, waiting for a core (the machine's other load), or idle with nothing to do
 * (the gaps a pipeline leaves). Empty where /proc is not there.
 */
import { readdirSync, readFileSync } from 'node:fs';

export type ThreadTimes = Map<string, { runMs: number; waitMs: number }>;

export function threadTimes(): ThreadTimes {
  const times: ThreadTimes = new Map();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times.set(tid, { runMs: run! / 1e6, waitMs: wait! / 1e6 });
    }
  } catch {
    // Not Linux: no figures.
  }
  return times;
}

/** Run, wait-for-a-core and idle shares of `wallMs` for the busiest thread between two readings (the main thread when `mainOnly`). */
export function busiestThread(
  before: ThreadTimes,
  after: ThreadTimes,
  wallMs: number,
  mainOnly: boolean,
): { run: number; wait: number; idle: number } {
  let best = { runMs: 0, waitMs: 0 };
  for (const [tid, end] of after) {
    if (mainOnly !== (tid === String(process.pid))) continue;
    const start = before.get(tid) ?? { runMs: 0, waitMs: 0 };
    const delta = { runMs: end.runMs - start.runMs, waitMs: end.waitMs - start.waitMs };
    if (delta.runMs > best.runMs) best = delta;
  }
  return { run: best.runMs / wallMs, wait: best.waitMs / wallMs, idle: Math.max(0, 1 - (best.runMs + best.waitMs) / wallMs) };
}
