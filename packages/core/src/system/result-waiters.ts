import { deserializeError, JobError, OverloadError } from '../errors.js';
import type { SettledJobEvent } from '../events.js';
import { isTerminal } from '../job/job-status.js';
import type { JobRecord, JobStore } from '../store/job-store.js';

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

/**
 * One caller's wait: an object with methods rather than a handful of closures, since a node
 * serving `Prefer: wait` or `handle.result()` makes one per request (it is also the abort
 * signal's listener, through `handleEvent`).
 */
class Waiter {
  constructor(
    private readonly owner: ResultWaiters,
    readonly id: string,
    private readonly resolve: (output: unknown) => void,
    private readonly reject: (reason: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  settle(event: SettledJobEvent): void {
    this.done();
    if (event.type === 'job.completed') this.resolve(event.output);
    else this.reject(deserializeError(event.error));
  }

  /** The job's record, read once the waiter listens: a job that settled before is answered from it. */
  read(record: JobRecord | undefined): void {
    if (!this.owner.has(this)) return;
    if (!record) this.abandon(new JobError('JOB_NOT_FOUND', `No job ${this.id}.`));
    else if (isTerminal(record.status)) {
      this.done();
      if (record.status === 'completed') this.resolve(record.output);
      else this.reject(deserializeError(record.error ?? { code: 'JOB_FAILED', message: 'failed' }));
    }
  }

  abandon(reason: unknown): void {
    this.done();
    this.reject(reason);
  }

  /** The abort signal's listener. */
  handleEvent(): void {
    this.abandon(this.signal!.reason);
  }

  private done(): void {
    this.owner.remove(this);
    this.signal?.removeEventListener('abort', this);
  }
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
  /** One waiter per job is the common case, so it is kept bare; a set only for several. */
  private readonly waiters = new Map<string, Waiter | Set<Waiter>>();
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
      const waiter = new Waiter(this, id, resolve, reject, signal);
      this.add(waiter);
      signal?.addEventListener('abort', waiter, { once: true });
      // Listening first, then reading, leaves no gap in which the settlement could be missed.
      this.store.get(id).then(
        (record) => waiter.read(record),
        (error: unknown) => waiter.abandon(error),
      );
    });
  }

  settled(event: SettledJobEvent): void {
    const entry = this.waiters.get(event.id);
    if (!entry) return;
    if (entry instanceof Waiter) entry.settle(event);
    else for (const waiter of [...entry]) waiter.settle(event);
  }

  /**
   * Rejects every waiter left with `reason`: a stopped node hears no more settlements, and a
   * promise that can never settle is a leak in the caller. Called by `stop()` after a last read
   * of the records, so a job that settled during the drain resolves rather than rejects.
   */
  close(reason: unknown): void {
    for (const entry of [...this.waiters.values()]) {
      if (entry instanceof Waiter) entry.abandon(reason);
      else for (const waiter of [...entry]) waiter.abandon(reason);
    }
  }

  has(waiter: Waiter): boolean {
    const entry = this.waiters.get(waiter.id);
    return entry === waiter || (entry instanceof Set && entry.has(waiter));
  }

  remove(waiter: Waiter): void {
    const entry = this.waiters.get(waiter.id);
    if (entry === waiter) this.waiters.delete(waiter.id);
    else if (entry instanceof Set && entry.delete(waiter)) {
      if (entry.size === 0) this.waiters.delete(waiter.id);
    } else return;
    this.count--;
  }

  private add(waiter: Waiter): void {
    const entry = this.waiters.get(waiter.id);
    if (!entry) this.waiters.set(waiter.id, waiter);
    else if (entry instanceof Waiter) this.waiters.set(waiter.id, new Set([entry, waiter]));
    else entry.add(waiter);
    this.count++;
  }
}
