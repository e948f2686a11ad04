import type { SerializedError } from '../errors.js';
import { queuedEvent, settledEvent, startedEvent, type JobEvent, type SettledJobEvent } from '../events.js';

/** What the memory store's record holds that a job's first events can be rebuilt from. */
export interface EventSource {
  id: string;
  name: string;
  parentId: string | undefined;
  rootId: string;
  status: string;
  attempt: number;
  createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  output: unknown;
  error: SerializedError | undefined;
}

/**
 * Most jobs live the same three events: `job.queued` when submitted, `job.started` on the first
 * attempt, and their end. Each of those says nothing the record does not: when it was created,
 * started and finished, and how it ended. So the memory store keeps them implied — counted, not
 * stored — and rebuilds them when someone reads the log; the first event the record cannot
 * explain (a retry, a progress report, a wait for children) writes the implied ones out first.
 *
 * Why: a finished job is retained (by count and age) for `get()`, `result()` and SSE resume, and
 * its three event objects were a third of the ~1.2 KB it held. Retained records outlive the
 * young generation, so every byte is copied twice by the scavenger and then marked in the old
 * generation: with the default retention of 10,000 that cost more than dispatching the job.
 */
export function isImplied(rec: EventSource, event: JobEvent): boolean {
  switch (event.seq) {
    case 1:
      return event.type === 'job.queued' && event.at === rec.createdAt;
    case 2:
      return event.type === 'job.started' && event.attempt === 1 && rec.attempt === 1 && event.at === rec.startedAt;
    case 3:
      if (event.at !== rec.finishedAt || event.status !== rec.status) return false;
      if (event.type === 'job.completed') return event.output === rec.output;
      return (event.type === 'job.failed' || event.type === 'job.cancelled') && event.error === rec.error;
    default:
      return false;
  }
}

/**
 * The first `count` events of the job, as `isImplied` accepted them, built by the same creators
 * as the live ones (a resumed SSE stream then sends the same JSON as a live one).
 */
export function impliedEvents(rec: EventSource, count: number): JobEvent[] {
  const out: JobEvent[] = [queuedEvent(rec, 1, rec.createdAt)];
  if (count >= 2) out.push(startedEvent(rec, 2, rec.startedAt!, 1));
  if (count >= 3) out.push(settledEvent(rec, 3, rec.finishedAt!, rec.status as SettledJobEvent['status'], rec.output, rec.error));
  return out;
}
