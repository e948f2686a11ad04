import { deserializeError, JobError, OverloadError } from '../errors.js';
import type { SettledJobEvent } from '../events.js';
import { isTerminal } from '../job/job-status.js';
import type { JobStore } from '../store/job-store.js';

/**
 * How long a caller is willing to wait for a result.
 *
 * @example
 * // Wait at most 5 s; the job goes on running either way.
 * const output = await system.waitResult(id, { signal: AbortSignal.timeout(5_000) });
 */
export interface WaitOptions {
  /** Aborting it rejects the wait with the signal's reason and frees the waiter at once (the job goes on). */
  signal?: AbortSignal;
}

interface Waiter {
  settle(event: SettledJobEvent): void;
  abandon(reason: unknown): void;
}

/**
 * Callers of `handle.result()` / `system.waitResult()`, by job id. A settled event from the store
 * (from whichever node ran the job) resolves them; a job that settled before anyone listened is
 * read from its record; a settlement whose signal was lost is found by the reconciler
 * (`ids()` → the records). Bounded: at most `max` waiters at once (past it a wait is refused with
 * `RESULT_WAITERS_FULL`), and a caller that gives up (its `signal` aborts) takes its waiter out
 * at once — 2,000 callers that time out on one long job leave nothing.
 */
export class ResultWaiters {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private count = 0;

  constructor(
    private readonly store: JobStore,
    private readonly max: number,
  ) {}

  /** Waiters now (for tests and stats). */
  get size(): number {
    return this.count;
  }

  /** Job ids someone waits for: what a reconciliation reads. */
  ids(): string[] {
    return [...this.waiters.keys()];
  }

  /** Resolves with the job's output or rejects with its error, whenever it settles. */
  wait(id: string, options: WaitOptions = {}): Promise<unknown> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.count >= this.max) {
      return Promise.reject(new OverloadError('RESULT_WAITERS_FULL', `${this.max} callers are already waiting for results on this node.`));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => giveUp(signal!.reason);
      const done = () => {
        this.remove(id, waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const giveUp = (reason: unknown) => {
        done();
        reject(reason);
      };
      const waiter: Waiter = {
        settle: (event) => {
          done();
          if (event.type === 'job.completed') resolve(event.output);
          else reject(deserializeError(event.error));
        },
        abandon: giveUp,
      };
      this.add(id, waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      // Listening first, then reading, leaves no gap in which the settlement could be missed.
      this.store.get(id).then((record) => {
        if (!this.has(id, waiter)) return;
        if (!record) giveUp(new JobError('JOB_NOT_FOUND', `No job ${id}.`));
        else if (isTerminal(record.status)) {
          done();
          if (record.status === 'completed') resolve(record.output);
          else reject(deserializeError(record.error ?? { code: 'JOB_FAILED', message: 'failed' }));
        }
      }, giveUp);
    });
  }

  settled(event: SettledJobEvent): void {
    const set = this.waiters.get(event.id);
    if (!set) return;
    for (const waiter of [...set]) waiter.settle(event);
  }

  /**
   * Rejects every waiter left with `reason`: a stopped node hears no more settlements, and a
   * promise that can never settle is a leak in the caller. Called by `stop()` after a last read
   * of the records, so a job that settled during the drain resolves rather than rejects.
   */
  close(reason: unknown): void {
    for (const set of [...this.waiters.values()]) for (const waiter of [...set]) waiter.abandon(reason);
  }

  private add(id: string, waiter: Waiter): void {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(waiter);
    this.count++;
  }

  private has(id: string, waiter: Waiter): boolean {
    return this.waiters.get(id)?.has(waiter) ?? false;
  }

  private remove(id: string, waiter: Waiter): void {
    const set = this.waiters.get(id);
    if (!set?.delete(waiter)) return;
    this.count--;
    if (set.size === 0) this.waiters.delete(id);
  }
}
