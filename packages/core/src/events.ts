import type { SerializedError } from './errors.js';
import type { JobStatus } from './job/job-status.js';

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
  | (JobEventBase & { type: 'job.retrying'; status: 'delayed' | 'queued'; attempt: number; runAt: number; error: SerializedError })
  /** Handed back unrun or unfinished by its node (it was stopping, or could not use the claim): queued again, the attempt not counted. */
  | (JobEventBase & { type: 'job.released'; status: 'queued' })
  | (JobEventBase & { type: 'job.completed'; status: 'completed'; output: unknown })
  | (JobEventBase & { type: 'job.failed'; status: 'failed'; error: SerializedError })
  | (JobEventBase & { type: 'job.cancelled'; status: 'cancelled'; error: SerializedError });

export type JobEventType = JobEvent['type'];

export type SettledJobEvent = Extract<JobEvent, { type: 'job.completed' | 'job.failed' | 'job.cancelled' }>;

export function isSettledEvent(event: JobEvent): event is SettledJobEvent {
  return event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.cancelled';
}

/** The status a job has right after the event. */
export function statusOf(event: JobEvent): JobStatus {
  return event.status;
}
