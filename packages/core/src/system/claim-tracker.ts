import type { Logger } from '../logger.js';
import type { ClaimedJob, ClaimRequest, ClaimResult, JobStore } from '../store/job-store.js';

/**
 * The dispatcher's claims to a remote store, tracked so that `stop()` can wait for them. A claim
 * still on its way back when the node stops has already leased its jobs to this node: dropped,
 * they would sit leased to a gone node until the lease ran out, and count a stall against each.
 * Once `handBack()` is called, what a claim brings is handed to `release` instead of the
 * dispatcher.
 */
export class ClaimTracker {
  private readonly inFlight = new Set<Promise<unknown>>();
  private handingBack = false;

  constructor(
    private readonly store: JobStore,
    private readonly release: (jobs: ClaimedJob[]) => void,
    private readonly logger: Logger,
  ) {}

  claim(request: ClaimRequest): Promise<ClaimResult> {
    const call = this.store.claim(request).then((result) => {
      if (!this.handingBack || result.jobs.length === 0) return result;
      this.logger.info({ jobs: result.jobs.length }, 'a claim came back after the node began to stop; its jobs are handed back');
      this.release(result.jobs);
      return { jobs: [], nextRunAt: result.nextRunAt };
    });
    const tracked: Promise<unknown> = call.then(
      () => this.inFlight.delete(tracked),
      () => this.inFlight.delete(tracked),
    );
    this.inFlight.add(tracked);
    return call;
  }

  /** From now on, claimed jobs go back to the store instead of to workers. */
  handBack(): void {
    this.handingBack = true;
  }

  /** Resolves when no claim is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}
