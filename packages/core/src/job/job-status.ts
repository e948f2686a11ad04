/**
 * The one list of job states, used for the store, the API, events and docs alike.
 * `delayed` waits for its run time (a delay or a retry back-off); `waitingChildren` is a parent
 * that gave its worker back while its children run.
 */
export const jobStatuses = ['queued', 'delayed', 'running', 'waitingChildren', 'completed', 'failed', 'cancelled'] as const;

export type JobStatus = (typeof jobStatuses)[number];

export type TerminalStatus = 'completed' | 'failed' | 'cancelled';

export function isTerminal(status: JobStatus): status is TerminalStatus {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** The statuses of a job some attempt holds under a lease (`waitingChildren`: a parent that gave its worker back). */
export type HeldStatus = 'running' | 'waitingChildren';

export function isHeldStatus(status: JobStatus): status is HeldStatus {
  return status === 'running' || status === 'waitingChildren';
}

/**
 * A count per status, all zero: the shape of `store.counts()`.
 *
 * @example const tally = zeroCounts(); tally.queued++;
 */
export function zeroCounts(): Record<JobStatus, number> {
  const counts = {} as Record<JobStatus, number>;
  for (const status of jobStatuses) counts[status] = 0;
  return counts;
}
