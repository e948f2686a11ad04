import type { AnyActorRef } from 'xstate';
import type { TimerHandle } from '../clock.js';
import { JobError, NonRetryableError, RateLimitedError, ScalableApiError, serializeError, type SerializedError } from '../errors.js';
import type { SettledJobEvent } from '../events.js';
import type { AttemptInstrument } from '../instrumentation.js';
import type { Logger } from '../logger.js';
import type { ClaimedJob, Settlement } from '../store/job-store.js';
import type { AttemptHost } from './attempt-host.js';
import { AttemptChildren } from './attempt-children.js';
import { AttemptContext } from './attempt-context.js';
import { fencedLogger } from './fenced-logger.js';
import { failureSettlement, logAttemptEnd, pushBackSettlement } from './attempt-settlement.js';
import { runMachineJob } from './run-machine-job.js';
import type { AnyJobDefinition } from './define-job.js';
import type { ChildResult, SpawnOptions } from './job-context.js';

/**
 * Where an attempt is. Every change goes through `detach` or `finish`, nowhere else:
 *
 * ```
 * running ──(waits for children: gives its worker back)──► detached
 *    │                                                        │
 *    └──────────(completes, fails, is aborted)──► settled ◄───┘
 * ```
 *
 * `running` holds a worker slot; `detached` holds none (a parent waiting for children, or one
 * that resumed after them: it never takes a slot back, so a tree deeper than the pool completes);
 * `settled` is final — whichever of completion, failure, timeout, cancel, shutdown or a lost
 * lease came first, the rest are ignored (a timed-out function may still resolve; nobody listens).
 *
 * Not an xstate machine on purpose: one exists per running job, and creating an actor costs
 * ~16 µs and ~3.5 KB (docs/concepts.md, Costs) — more than the whole dispatch of a no-op job.
 */
export type AttemptPhase = 'running' | 'detached' | 'settled';

/** One attempt of one job on this node, from claim to settlement. */
export class JobAttempt {
  private phase: AttemptPhase = 'running';
  /** The worker slot, held only in `running`. */
  private worker: AnyActorRef | undefined;
  private controller: AbortController | undefined;
  private timer: TimerHandle | undefined;
  private tree: AttemptChildren | undefined;
  private context: AttemptContext | undefined;
  /** The job's bound logger, and `ctx.log`: the same, fenced. Made on first use. */
  private bound: Logger | undefined;
  private logger: Logger | undefined;
  private instrument: AttemptInstrument | undefined;
  private startedAt = 0;
  private fenced = false;

  constructor(
    readonly job: ClaimedJob,
    readonly definition: AnyJobDefinition,
    readonly host: AttemptHost,
    worker: AnyActorRef,
  ) {
    this.worker = worker;
  }

  get settled(): boolean {
    return this.phase === 'settled';
  }

  /** Whether this attempt runs on `worker` (a crashed worker's attempt is handed back). */
  holds(worker: AnyActorRef): boolean {
    return this.phase === 'running' && this.worker === worker;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** A logger bound to the job; silent once the attempt lost its lease (a zombie writes nothing as the job). */
  get log(): Logger {
    this.logger ??= fencedLogger(this.boundLogger(), () => this.fenced);
    return this.logger;
  }

  private boundLogger(): Logger {
    const { job } = this;
    this.bound ??= this.host.logger.child({ jobId: job.id, job: job.name, attempt: job.attempt, parentId: job.parentId, rootId: job.rootId });
    return this.bound;
  }

  start(): void {
    // Aborted before it started (a newer claim of the job, a cancel that came first).
    if (this.phase === 'settled') return;
    const { definition, job, host } = this;
    if (definition.timeoutMs !== undefined) {
      // Any length: the clock arms delays past a timer's 2^31-1 ms range in steps.
      this.timer = host.clock.setTimeout(
        () => this.abort(new JobError('JOB_TIMEOUT', `${job.name} ran longer than ${definition.timeoutMs} ms`)),
        definition.timeoutMs,
      );
    }
    this.context = new AttemptContext(this);
    this.startedAt = host.clock.now();
    if (host.logger.isLevelEnabled?.('debug')) this.boundLogger().debug({ meta: job.meta }, 'job attempt started');
    this.instrument = host.instrumentation?.startAttempt(job);
    let result: unknown;
    try {
      result = this.instrument ? this.instrument.run(() => this.invoke()) : this.invoke();
    } catch (error) {
      this.fail(error);
      return;
    }
    if (isThenable(result))
      result.then(
        (output) => this.complete(output),
        (error: unknown) => this.fail(error),
      );
    else this.complete(result);
  }

  private invoke(): unknown {
    const { definition, job } = this;
    switch (definition.kind) {
      case 'run':
        return definition.run(job.input, this.context!);
      case 'machine':
        return runMachineJob(definition.machine, job.input, this.context!, this.signal, this.host);
      case 'thread':
        return this.host.runInThread({
          module: definition.module,
          input: job.input,
          job: { id: job.id, name: job.name, attempt: job.attempt, parentId: job.parentId, rootId: job.rootId },
          signal: this.signal,
          progress: (value) => this.progress(value),
        });
      case 'batch':
        return this.host.joinBatch(this, this.context!);
    }
  }

  complete(output: unknown): void {
    if (this.phase === 'settled') return;
    this.finish({ id: this.job.id, token: this.job.token, outcome: 'completed', output });
  }

  fail(thrown: unknown): void {
    if (this.phase === 'settled') return;
    if (thrown instanceof RateLimitedError) return this.rateLimited(thrown.retryAfterMs);
    // Our own errors keep their code (a spawn refused with WAITING_PARENTS_FULL, a child that
    // failed the parent); anything else the job threw becomes JOB_FAILED with it as the cause.
    const error =
      thrown instanceof ScalableApiError
        ? thrown
        : new JobError('JOB_FAILED', thrown instanceof Error ? thrown.message : String(thrown), { cause: thrown });
    const final = thrown instanceof NonRetryableError || error.code === 'CHILD_FAILED';
    this.finish(this.failure(serializeError(error), final));
  }

  /** Cancel, timeout, a failed child, shutdown or a lost lease: fires the signal and settles at once. */
  abort(reason: JobError | ScalableApiError): void {
    if (this.phase === 'settled') return;
    this.controller ??= new AbortController();
    this.controller.abort(reason);
    const error = serializeError(reason);
    const { id, token } = this.job;
    switch (reason.code) {
      case 'JOB_CANCELLED':
        return this.finish({ id, token, outcome: 'cancelled', error });
      case 'JOB_TIMEOUT':
        return this.finish(this.failure(error, false));
      case 'CHILD_FAILED':
        return this.finish({ id, token, outcome: 'failed', error });
      case 'LEASE_LOST':
        // Another attempt owns the job now; a settlement from here would be stale anyway.
        this.fenced = true;
        return this.finish(undefined);
      default:
        // A crashed worker: the job runs again (elsewhere or after the restart), this attempt counted.
        return this.finish({ id, token, outcome: 'retry', error, runAt: this.host.clock.now() });
    }
  }

  /**
   * The node stops: the signal fires with `reason` and the job goes back to the queue as
   * `released` — the attempt not counted and no stall recorded (it was not the job's fault).
   */
  handBack(reason: ScalableApiError): void {
    if (this.phase === 'settled') return;
    this.controller ??= new AbortController();
    this.controller.abort(reason);
    this.finish({ id: this.job.id, token: this.job.token, outcome: 'released' });
  }

  /** An upstream limited the job (`ctx.rateLimited`, `RateLimitedError`): released with a push-back. */
  private rateLimited(retryAfterMs: number): void {
    this.finish(pushBackSettlement(this.job, this.definition, this.host.clock.now() + retryAfterMs));
  }

  /** The worker running this attempt crashed: the attempt is handed back, and the worker slot is gone with it. */
  workerCrashed(reason: ScalableApiError): void {
    if (this.phase !== 'running') return;
    this.phase = 'detached';
    this.worker = undefined;
    this.abort(reason);
  }

  /** From the parent actor: while it waits for children the attempt gives its worker back. */
  waitingForChildren(isWaiting: boolean): void {
    if (this.phase === 'settled') return;
    if (isWaiting && this.phase === 'running') this.detach();
    this.host.setWaiting(this.job, isWaiting);
  }

  private detach(): void {
    const worker = this.worker!;
    this.phase = 'detached';
    this.worker = undefined;
    this.host.releaseWorker(worker, this.job.name);
  }

  private failure(error: SerializedError, final: boolean): Settlement {
    return failureSettlement(this.job, this.definition, error, final, this.host);
  }

  /** The one way into `settled`. `settlement` is undefined when there is nothing to record (lost lease). */
  private finish(settlement: Settlement | undefined): void {
    const worker = this.phase === 'running' ? this.worker : undefined;
    this.phase = 'settled';
    this.worker = undefined;
    this.logEnd(settlement);
    this.instrument?.end(settlement);
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.tree?.close();
    this.host.attemptFinished(this, settlement, worker);
  }

  /** The attempt's end in the log (`logAttemptEnd`). */
  private logEnd(settlement: Settlement | undefined): void {
    // The common case first, and without a clock read when nothing is written.
    if (settlement?.outcome === 'completed' && !this.host.logger.isLevelEnabled?.('debug')) return;
    logAttemptEnd(this.boundLogger(), settlement, this.host.clock.now() - this.startedAt);
  }

  /** Delivered by the system when a child of this job settles, wherever it ran. */
  childSettled(event: SettledJobEvent): void {
    this.tree?.childSettled(event);
  }

  /** Children this attempt still waits for (empty for most jobs). */
  awaitedChildren(): string[] {
    return this.tree?.awaited() ?? [];
  }

  progress(value: unknown): void {
    if (this.phase === 'settled') return;
    this.host.progress(this.job, value);
  }

  spawn(definition: AnyJobDefinition, input: unknown, options?: SpawnOptions): Promise<unknown> {
    this.tree ??= new AttemptChildren(this);
    return this.tree.spawn(definition, input, options);
  }

  children(): Promise<ChildResult<unknown>[]> {
    return (this.tree ??= new AttemptChildren(this)).results();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
