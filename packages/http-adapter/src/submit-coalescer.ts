import type { JobHandle, JobSystem, SubmitOptions } from '@scalable-api/core';

type Done = (error: unknown, handle?: JobHandle) => void;

interface PendingSubmit {
  name: string;
  input: unknown;
  options: SubmitOptions;
  done: Done;
}

/**
 * Starts the submits of one event-loop turn together. The core groups the submits made in the
 * same tick into one store call and one dispatcher wake-up, but HTTP requests are each handled
 * in their own tick, so on their own every batch would hold a single job and the job system
 * would pay its per-batch cost per request. Holding each submit until the check phase (one
 * `setImmediate`, after the poll phase has handled every socket that was readable) lets all the
 * requests of that turn enter the core at once: on the 2-core machine this took the intake from
 * ~3,000 to ~7,400 req/s (docs/benchmarks.md). The added latency is at most one loop turn, and
 * the queue never holds more than the requests being handled at that moment.
 */
export class SubmitCoalescer {
  private pending: PendingSubmit[] = [];

  constructor(private readonly system: JobSystem) {}

  /** Callback style, for the submit route's common path: no promise of its own per request. */
  enqueue(name: string, input: unknown, options: SubmitOptions, done: Done): void {
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending.push({ name, input, options, done });
  }

  submit(name: string, input: unknown, options: SubmitOptions): Promise<JobHandle> {
    return new Promise<JobHandle>((resolve, reject) => {
      this.enqueue(name, input, options, (error, handle) => (error === undefined ? resolve(handle!) : reject(error as Error)));
    });
  }

  private readonly flush = (): void => {
    const submits = this.pending;
    this.pending = [];
    for (const { name, input, options, done } of submits) {
      // One submit that throws (it should reject) must not leave the rest of the turn unanswered.
      try {
        this.system.submitByName(name, input, options).then(
          (handle) => done(undefined, handle),
          // `undefined` means success to `done`: a rejection without a reason must not read as one.
          (error: unknown) => done(error ?? new Error('the submit was refused without a reason')),
        );
      } catch (error) {
        done(error);
      }
    }
  };
}
