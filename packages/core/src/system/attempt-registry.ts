import type { AnyActorRef } from 'xstate';
import { ChurnMap } from '../churn-map.js';
import { JobError, type ScalableApiError } from '../errors.js';
import type { JobAttempt } from '../job/job-attempt.js';

/**
 * This node's running attempts, one per job id: the newest claim. A node can claim its own job
 * again — an event-loop stall longer than the lease lets the lease run out and the next claim
 * here take the job with a higher token. The older attempt is then a zombie: it is aborted with
 * `LEASE_LOST` (its settlement would be fenced off anyway), and when it ends it removes only
 * itself, never the newer attempt's entry (which would lose its renewals, cancels and child
 * events, and get a healthy job quarantined after three such stalls).
 */
export class AttemptRegistry {
  private readonly byId = new ChurnMap<string, JobAttempt>();

  get size(): number {
    return this.byId.size;
  }

  /** The current attempt of a job on this node. */
  get(id: string): JobAttempt | undefined {
    return this.byId.get(id);
  }

  add(attempt: JobAttempt): void {
    const { id, token } = attempt.job;
    const older = this.byId.get(id);
    if (older !== undefined && older.job.token > token) {
      // A claim answered out of order: this one is the stale attempt.
      attempt.abort(new JobError('LEASE_LOST', `Job ${id} is held by a newer attempt on this node.`));
      return;
    }
    this.byId.set(id, attempt);
    if (older !== undefined && older !== attempt)
      older.abort(new JobError('LEASE_LOST', `Job ${id} was claimed again; this attempt lost its lease.`));
  }

  /** Removes the attempt if it is still the job's current one. */
  remove(attempt: JobAttempt): void {
    if (this.byId.get(attempt.job.id) === attempt) this.byId.delete(attempt.job.id);
  }

  /** The attempt a crashed `worker` ran (if any): handed back, with the worker slot gone with it. */
  handBackFrom(worker: AnyActorRef, reason: () => ScalableApiError): void {
    for (const attempt of this.byId.values()) if (attempt.holds(worker)) attempt.workerCrashed(reason());
  }

  values(): IterableIterator<JobAttempt> {
    return this.byId.values();
  }
}
