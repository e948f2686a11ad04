import type { AnyActorRef } from 'xstate';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { JobStore, Settlement, SettleOutcome } from '../store/job-store.js';
import { Batcher } from './batcher.js';

/** Back-off 0.1, 0.2, 0.4 … 2 s: about a minute of store outage before a result is given up (and the job re-runs). */
const maxSettleRetries = 32;

/**
 * Records how attempts ended, batched per tick. A store that is unreachable (`STORE_UNAVAILABLE`:
 * Redis restarting, a network blip) is not the worker's fault: the settlement is sent again with
 * back-off, which is safe because it carries the attempt's fencing token — if another node took
 * the job over meanwhile, it is answered `stale` and changes nothing. Crashing workers instead
 * turned a one-second Redis restart into every node of a cluster going unhealthy for a whole
 * restart-intensity window, and re-ran every job whose result was in flight (`npm run chaos
 * redis-everysec`). Any other failure means the store misbehaves: `onFault` hears it with the
 * worker that produced the result, which cannot trust it and is crashed so it is restarted.
 */
export class Settler {
  private readonly batch: Batcher<Settlement, SettleOutcome>;
  /** Settlements waiting to be sent again after a store outage. */
  private retrying = 0;
  private closed = false;

  constructor(
    store: JobStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Called after every settlement that left the batch (sent, given up or scheduled again). */
    private readonly onProgress: () => void,
    private readonly onFault: (worker: AnyActorRef, error: unknown) => void,
  ) {
    this.batch = new Batcher((items) => store.settle(items));
  }

  /** Settlements not yet recorded: in the batch, in flight, or waiting to be retried. */
  get pending(): number {
    return this.batch.pending + this.retrying;
  }

  /** `worker` produced the result: it hears of a store fault (not an outage) through `onFault`. */
  settle(settlement: Settlement, worker: AnyActorRef | undefined, tries = 0): void {
    this.batch.add(settlement, (error) => {
      if (error !== undefined) this.failed(settlement, error, worker, tries);
      this.onProgress();
    });
  }

  /** Resolves when nothing is queued or in flight (retries scheduled later are not waited for). */
  idle(): Promise<void> {
    return this.batch.idle();
  }

  /** Stops retrying after an outage: what is still unrecorded runs again when its lease runs out. */
  close(): void {
    this.closed = true;
  }

  private failed(settlement: Settlement, error: unknown, worker: AnyActorRef | undefined, tries: number): void {
    const outage =
      (error as { code?: unknown }).code === 'STORE_UNAVAILABLE' || (error as { cause?: { code?: unknown } }).cause?.code === 'STORE_UNAVAILABLE';
    if (outage && tries < maxSettleRetries && !this.closed) {
      this.logger.warn({ err: error, jobId: settlement.id, tries }, 'the store is unreachable; settling the job again later');
      this.retrying++;
      this.clock.setTimeout(
        () => {
          this.retrying--;
          this.settle(settlement, undefined, tries + 1);
          this.onProgress();
        },
        Math.min(100 * 2 ** tries, 2_000),
      );
      return;
    }
    // The result is not recorded: the lease will run out and the job run again (at-least-once).
    this.logger.error({ err: error, jobId: settlement.id }, 'settling a job failed');
    if (!outage && worker) this.onFault(worker, error);
  }
}
