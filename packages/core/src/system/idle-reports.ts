import type { AnyActorRef } from 'xstate';
import type { IdleReport } from '../messages.js';

/**
 * Workers that became idle in the same tick reach the dispatcher as one `workers.idle` message:
 * one transition for a tick's worth of finished jobs instead of one each.
 */
export class IdleReports {
  private reports: IdleReport[] = [];

  constructor(private readonly send: (reports: IdleReport[]) => void) {}

  /** `released` is the job type whose slot the worker frees (none for a worker that just started). */
  add(worker: AnyActorRef, released: string | undefined): void {
    this.reports.push({ worker, released });
    if (this.reports.length === 1) {
      queueMicrotask(() => {
        const reports = this.reports;
        this.reports = [];
        this.send(reports);
      });
    }
  }
}
