import { deserializeError, JobError } from '../errors.js';
import type { SettledJobEvent } from '../events.js';
import { isTerminal } from '../job/job-status.js';
import type { JobStore } from '../store/job-store.js';

type Waiter = (event: SettledJobEvent) => void;

/**
 * Callers of `handle.result()`, by job id. A settled event from the store (from whichever node
 * ran the job) resolves them; a job that settled before anyone listened is read from its record.
 * Bounded by its callers: each entry is a promise someone holds.
 */
export class ResultWaiters {
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly store: JobStore) {}

  /** Resolves with the job's output or rejects with its error, whenever it settles. */
  wait(id: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onSettled: Waiter = (event) => {
        if (event.type === 'job.completed') resolve(event.output);
        else reject(deserializeError(event.error));
      };
      const list = this.waiters.get(id);
      if (list) list.push(onSettled);
      else this.waiters.set(id, [onSettled]);
      // Listening first, then reading, leaves no gap in which the settlement could be missed.
      this.store.get(id).then((record) => {
        if (!record) {
          this.drop(id, onSettled);
          reject(new JobError('JOB_NOT_FOUND', `No job ${id}.`));
        } else if (isTerminal(record.status)) {
          this.drop(id, onSettled);
          if (record.status === 'completed') resolve(record.output);
          else reject(deserializeError(record.error ?? { code: 'JOB_FAILED', message: 'failed' }));
        }
      }, reject);
    });
  }

  settled(event: SettledJobEvent): void {
    const list = this.waiters.get(event.id);
    if (!list) return;
    this.waiters.delete(event.id);
    for (const waiter of list) waiter(event);
  }

  private drop(id: string, waiter: Waiter): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.waiters.delete(id);
    else this.waiters.set(id, rest);
  }
}
