import type { Clock, TimerHandle } from '../clock.js';
import { JobError, RateLimitedError } from '../errors.js';
import type { ThreadRun } from '../isolation/thread-pool.js';
import type { ThreadJobInfo } from '../isolation/thread-protocol.js';
import type { Logger } from '../logger.js';
import type { BatchContext } from './batch-job.js';
import type { BatchJobDefinition } from './define-job.js';
import type { JobAttempt } from './job-attempt.js';
import type { JobContext } from './job-context.js';

/** What a collector needs from its node. */
export interface BatchHost {
  readonly clock: Clock;
  readonly logger: Logger;
  runInThread(run: ThreadRun): Promise<unknown>;
}

interface Member {
  attempt: JobAttempt;
  ctx: JobContext;
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

/**
 * Groups the running attempts of one batch job on this node into calls of at most `batch.max`
 * (dynamic batching). Every job keeps its own attempt: its own lease (renewed with the node's
 * others), timeout, cancel, retry policy and children. The batch is only how the work is called,
 * so one job aborted while its batch forms or runs settles alone and the others go on; when the
 * call answers, each attempt takes its own entry, and an attempt that has settled meanwhile
 * ignores it, as it ignores a late result of any aborted job.
 *
 * A batch forms from attempts the dispatcher has already claimed and started, so the wait
 * (`waitMs`, on the injected clock) never holds a job that is not leased to this node, and the
 * forming batch is bounded by `batch.max` and by the node's workers (each attempt holds one).
 */
export class BatchCollector {
  private forming: Member[] = [];
  private timer: TimerHandle | undefined;
  private readonly log: Logger;

  constructor(
    private readonly definition: BatchJobDefinition,
    private readonly host: BatchHost,
  ) {
    this.log = host.logger.child({ job: definition.name });
  }

  /** Adds a running attempt to the forming batch; settles with its own entry of the batch's answer. */
  join(attempt: JobAttempt, ctx: JobContext): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const member: Member = { attempt, ctx, resolve, reject };
      this.forming.push(member);
      // Cancelled or timed out while its batch forms: it leaves, and takes no place in the call.
      attempt.signal.addEventListener('abort', () => this.leave(member), { once: true });
      const { max, waitMs } = this.definition.batch;
      if (this.forming.length >= max) this.flush();
      else this.timer ??= this.host.clock.setTimeout(() => this.flush(), waitMs);
    });
  }

  private leave(member: Member): void {
    const at = this.forming.indexOf(member);
    if (at < 0) return;
    this.forming.splice(at, 1);
    if (this.forming.length === 0 && this.timer !== undefined) {
      this.host.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private flush(): void {
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const members = this.forming.splice(0);
    if (members.length > 0) void this.run(members);
  }

  private async run(members: Member[]): Promise<void> {
    const { definition } = this;
    const inputs = members.map((member) => member.attempt.job.input);
    const signal = whenAllAborted(members.map((member) => member.attempt.signal));
    let results: unknown;
    try {
      if (definition.runBatch) {
        const ctx: BatchContext = { jobs: members.map((member) => member.ctx), signal, log: this.log, rateLimited };
        results = await definition.runBatch(inputs, ctx);
      } else {
        const jobs = members.map(({ attempt: { job } }): ThreadJobInfo => ({
          id: job.id,
          name: job.name,
          attempt: job.attempt,
          parentId: job.parentId,
          rootId: job.rootId,
        }));
        results = await this.host.runInThread({ module: definition.module!, input: inputs, job: jobs[0]!, jobs, signal, progress: () => {} });
      }
    } catch (error) {
      // The whole call failed (a throw, a crashed thread): each job fails and retries on its own.
      for (const member of members) member.reject(error);
      return;
    }
    if (!Array.isArray(results) || results.length !== members.length) {
      const count = Array.isArray(results) ? `${results.length} entries` : typeof results;
      const error = new JobError(
        'JOB_FAILED',
        `${definition.name}: the batch answered ${count} for ${members.length} inputs; it must answer one entry per input.`,
      );
      for (const member of members) member.reject(error);
      return;
    }
    members.forEach((member, i) => {
      const result: unknown = results[i];
      if (result instanceof Error) member.reject(result);
      else member.resolve(result);
    });
  }
}

/** `ctx.rateLimited` of a batch: the throw rejects every member, and each attempt pushes its job back (JobAttempt.fail). */
function rateLimited(retryAfterMs: number): never {
  throw new RateLimitedError(retryAfterMs);
}

/** A signal aborted once every one of `signals` is: the batch's call is then wasted work. */
function whenAllAborted(signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  let left = signals.length;
  for (const signal of signals) {
    const onAbort = () => {
      if (--left === 0) controller.abort(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return controller.signal;
}
