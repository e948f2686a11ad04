import type { SerializedError } from './errors.js';

/**
 * Job events: facts about one job, in the order they happened. `seq` counts per job from 1 so a
 * reader (an SSE stream, say) can resume after the last one it saw. `rootId` is the job's own id
 * when it has no parent.
 */
interface JobEventBase {
  id: string;
  name: string;
  seq: number;
  at: number;
  parentId: string | undefined;
  rootId: string;
}

export type JobEvent =
  | (JobEventBase & { type: 'job.queued'; status: 'queued' })
  | (JobEventBase & { type: 'job.delayed'; status: 'delayed'; runAt: number })
  | (JobEventBase & { type: 'job.started'; status: 'running'; attempt: number })
  | (JobEventBase & { type: 'job.progress'; status: 'running' | 'waitingChildren'; progress: unknown })
  | (JobEventBase & { type: 'job.waiting'; status: 'waitingChildren' })
  /** A parent that waited for its children runs on: the same attempt continuing, not a new start. */
  | (JobEventBase & { type: 'job.resumed'; status: 'running'; attempt: number })
  | (JobEventBase & { type: 'job.retrying'; status: 'delayed' | 'queued'; attempt: number; runAt: number; error: SerializedError })
  /** Handed back unrun or unfinished by its node (it was stopping, or could not use the claim): queued again, the attempt not counted. */
  | (JobEventBase & { type: 'job.released'; status: 'queued' })
  | (JobEventBase & { type: 'job.completed'; status: 'completed'; output: unknown })
  | (JobEventBase & { type: 'job.failed'; status: 'failed'; error: SerializedError })
  | (JobEventBase & { type: 'job.cancelled'; status: 'cancelled'; error: SerializedError });

export type JobEventType = JobEvent['type'];

/** The event of one type: `JobEventOf<'job.started'>` has `attempt`. */
export type JobEventOf<T extends JobEventType> = Extract<JobEvent, { type: T }>;

export type SettledJobEvent = JobEventOf<'job.completed' | 'job.failed' | 'job.cancelled'>;

export function isSettledEvent(event: JobEvent): event is SettledJobEvent {
  return event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.cancelled';
}

/** The job an event is about: the fields every event of it repeats. A job record is one. */
export interface EventSubject {
  id: string;
  name: string;
  parentId: string | undefined;
  rootId: string;
}

// The creators, one per event type: nobody else writes an event literal. Every event has its
// keys in one order (the common ones, then its own), so a stored event and a live one serialize
// to the same JSON. Each is one object literal: the memory store builds three of them per job
// on its hot path, where a common part plus copied-in fields cost a second object.

/**
 * @example store.publish(rec, queuedEvent(rec, ++rec.eventSeq, now));
 */
export function queuedEvent(job: EventSubject, seq: number, at: number): JobEventOf<'job.queued'> {
  return { type: 'job.queued', status: 'queued', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId };
}

/** @example delayedEvent(rec, 2, now, now + 5_000) */
export function delayedEvent(job: EventSubject, seq: number, at: number, runAt: number): JobEventOf<'job.delayed'> {
  return { type: 'job.delayed', status: 'delayed', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, runAt };
}

/** @example startedEvent(rec, 2, now, 1) */
export function startedEvent(job: EventSubject, seq: number, at: number, attempt: number): JobEventOf<'job.started'> {
  return { type: 'job.started', status: 'running', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, attempt };
}

/** @example progressEvent(rec, 3, now, 'running', { done: 3, of: 10 }) */
export function progressEvent(
  job: EventSubject,
  seq: number,
  at: number,
  status: 'running' | 'waitingChildren',
  progress: unknown,
): JobEventOf<'job.progress'> {
  return { type: 'job.progress', status, id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, progress };
}

/** @example waitingEvent(rec, 3, now) */
export function waitingEvent(job: EventSubject, seq: number, at: number): JobEventOf<'job.waiting'> {
  return { type: 'job.waiting', status: 'waitingChildren', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId };
}

/** @example resumedEvent(rec, 4, now, 1) */
export function resumedEvent(job: EventSubject, seq: number, at: number, attempt: number): JobEventOf<'job.resumed'> {
  return { type: 'job.resumed', status: 'running', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, attempt };
}

/** @example retryingEvent(rec, 3, now, 'delayed', 1, now + 200, error) */
export function retryingEvent(
  job: EventSubject,
  seq: number,
  at: number,
  status: 'delayed' | 'queued',
  attempt: number,
  runAt: number,
  error: SerializedError,
): JobEventOf<'job.retrying'> {
  return { type: 'job.retrying', status, id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, attempt, runAt, error };
}

/** @example releasedEvent(rec, 3, now) */
export function releasedEvent(job: EventSubject, seq: number, at: number): JobEventOf<'job.released'> {
  return { type: 'job.released', status: 'queued', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId };
}

/** @example completedEvent(rec, 3, now, { url }) */
export function completedEvent(job: EventSubject, seq: number, at: number, output: unknown): JobEventOf<'job.completed'> {
  return { type: 'job.completed', status: 'completed', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, output };
}

/** @example failedEvent(rec, 3, now, error) */
export function failedEvent(job: EventSubject, seq: number, at: number, error: SerializedError): JobEventOf<'job.failed'> {
  return { type: 'job.failed', status: 'failed', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, error };
}

/** @example cancelledEvent(rec, 3, now, defaultCancelError) */
export function cancelledEvent(job: EventSubject, seq: number, at: number, error: SerializedError): JobEventOf<'job.cancelled'> {
  return { type: 'job.cancelled', status: 'cancelled', id: job.id, name: job.name, seq, at, parentId: job.parentId, rootId: job.rootId, error };
}

/**
 * The event that settles a job with `status`; seq 0 and the given time when it stands in for a
 * stored event (a child read from its record after a lost signal).
 *
 * @example settledEvent(record, 0, record.finishedAt ?? 0, 'completed', record.output, undefined)
 */
export function settledEvent(
  job: EventSubject,
  seq: number,
  at: number,
  status: SettledJobEvent['status'],
  output: unknown,
  error: SerializedError | undefined,
): SettledJobEvent {
  if (status === 'completed') return completedEvent(job, seq, at, output);
  if (status === 'failed') return failedEvent(job, seq, at, error!);
  return cancelledEvent(job, seq, at, error!);
}
