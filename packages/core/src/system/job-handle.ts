import type { JobStatus } from '../job/job-status.js';
import type { CancelResult, JobHandle } from './job-system.js';
import type { WaitOptions } from './result-waiters.js';

export interface HandleHost {
  waitResult(id: string, options?: WaitOptions): Promise<unknown>;
  cancel(id: string): Promise<CancelResult>;
}

/** A submitted job as the caller holds it: its id, its result when it ends, and cancel. */
export class Handle<Output> implements JobHandle<Output> {
  constructor(
    private readonly host: HandleHost,
    readonly id: string,
    readonly created: boolean,
    readonly status: JobStatus,
  ) {}

  result(options?: WaitOptions): Promise<Output> {
    return this.host.waitResult(this.id, options) as Promise<Output>;
  }

  cancel(): Promise<CancelResult> {
    return this.host.cancel(this.id);
  }
}
