import type { Clock, TimerHandle } from '../clock.js';
import { JobError } from '../errors.js';
import type { JobAttempt } from '../job/job-attempt.js';
import type { Logger } from '../logger.js';
import type { JobStore } from '../store/job-store.js';

/**
 * Keeps the leases of this node's attempts alive: every third of the lease, one `renew` call for
 * all of them. A renewal that reports a requested cancel aborts the attempt with `JOB_CANCELLED`. An attempt whose lease the store no longer grants (it ran out and another node
 * took the job) is aborted with `LEASE_LOST`: its result would be fenced off anyway.
 */
export class LeaseRenewer {
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly store: JobStore,
    private readonly leaseMs: number,
    private readonly attempts: { values(): IterableIterator<JobAttempt> },
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => this.renew(), this.leaseMs / 3);
  }

  private renew(): void {
    const attempts = [...this.attempts.values()];
    if (attempts.length === 0) return this.schedule();
    this.store
      .renew(
        attempts.map((a) => ({ id: a.job.id, token: a.job.token })),
        this.leaseMs,
      )
      .then(
        (outcomes) => {
          outcomes.forEach((outcome, i) => {
            const attempt = attempts[i]!;
            if (!outcome.held) attempt.abort(new JobError('LEASE_LOST', `Job ${attempt.job.id} lost its lease.`));
            // The store is the record of a cancel: this reaches the attempt even if the signal was lost.
            else if (outcome.cancel) attempt.abort(new JobError('JOB_CANCELLED', outcome.cancel.message));
          });
          this.schedule();
        },
        (error: unknown) => {
          this.logger.error({ err: error }, 'renewing leases failed');
          this.schedule();
        },
      );
  }
}
