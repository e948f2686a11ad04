import { createActor, type AnyActorRef } from 'xstate';
import type { BlobStore } from '../blobs/blob-store.js';
import type { TimerHandle } from '../clock.js';
import { InputError, JobError, NonRetryableError, OverloadError, ScalableApiError, serializeError, type SerializedError } from '../errors.js';
import type { SettledJobEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { msg } from '../messages.js';
import type { ClaimedJob, JobRecord, Settlement } from '../store/job-store.js';
import { parentLogic, type ParentActorRef } from '../tree/parent-logic.js';
import type { AnyJobDefinition } from './define-job.js';
import type { ChildResult, JobContext, SpawnOptions } from './job-context.js';
import { isTerminal } from './job-status.js';
import { backoffDelay, defaultRetryPolicy, maxAttempts } from './retry-policy.js';
import type { AttemptHost } from './attempt-host.js';
import type { AttemptInstrument } from '../instrumentation.js';

/**
 * One attempt of one job on this node, from claim to settlement. It owns the attempt's abort
 * signal, its timeout, and — once the job spawns children — its parent actor. It settles exactly
 * once: whichever of completion, failure, timeout, cancellation or shutdown comes first wins and
 * the rest are ignored (a timed-out function may still resolve later; nobody listens).
 */
export class JobAttempt {
  /** Set while the attempt holds a worker; cleared when it settles or waits for children. */
  worker: AnyActorRef | undefined;
  private done = false;
  private controller: AbortController | undefined;
  private timer: TimerHandle | undefined;
  private parent: ParentActorRef | undefined;
  private spawned = 0;
  private waitingCounted = false;
  private context: AttemptContext | undefined;
  private logger: Logger | undefined;
  private instrument: AttemptInstrument | undefined;
  private startedAt = 0;

  constructor(
    readonly job: ClaimedJob,
    readonly definition: AnyJobDefinition,
    readonly host: AttemptHost,
    worker: AnyActorRef,
  ) {
    this.worker = worker;
  }

  get settled(): boolean {
    return this.done;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get log(): Logger {
    this.logger ??= this.host.logger.child({
      jobId: this.job.id,
      job: this.job.name,
      attempt: this.job.attempt,
      parentId: this.job.parentId,
      rootId: this.job.rootId,
    });
    return this.logger;
  }

  start(): void {
    const { definition, job, host } = this;
    if (definition.timeoutMs !== undefined) {
      this.timer = host.clock.setTimeout(
        () => this.abort(new JobError('JOB_TIMEOUT', `${job.name} ran longer than ${definition.timeoutMs} ms`)),
        definition.timeoutMs,
      );
    }
    this.context = new AttemptContext(this);
    this.startedAt = host.clock.now();
    if (host.logger.isLevelEnabled?.('debug')) this.log.debug({ meta: job.meta }, 'job attempt started');
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
    if (definition.kind === 'thread') return this.runThread();
    return definition.kind === 'run' ? (definition.run as (input: unknown, ctx: JobContext) => unknown)(job.input, this.context!) : this.runMachine();
  }

  private runThread(): Promise<unknown> {
    const { job } = this;
    return this.host.runInThread({
      module: this.definition.module!,
      input: job.input,
      job: { id: job.id, name: job.name, attempt: job.attempt, parentId: job.parentId, rootId: job.rootId },
      signal: this.signal,
      progress: (value) => this.progress(value),
    });
  }

  private runMachine(): Promise<unknown> {
    const actor = createActor(this.definition.machine!, { input: { input: this.job.input, ctx: this.context }, ...this.host.inspectOption });
    this.host.actorStarted();
    return new Promise((resolve, reject) => {
      const release = () => this.host.actorStopped();
      actor.subscribe({
        complete: () => {
          release();
          resolve(actor.getSnapshot().output);
        },
        error: (error) => {
          release();
          reject(error);
        },
      });
      this.signal.addEventListener(
        'abort',
        () => {
          if (actor.getSnapshot().status === 'active') {
            actor.stop();
            release();
          }
        },
        { once: true },
      );
      actor.start();
    });
  }

  complete(output: unknown): void {
    if (this.done) return;
    this.finish({ id: this.job.id, token: this.job.token, outcome: 'completed', output });
  }

  fail(thrown: unknown): void {
    if (this.done) return;
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
    if (this.done) return;
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
        return this.finish(undefined);
      default:
        // Shutdown: hand the job back to run again elsewhere or after restart.
        return this.finish({ id, token, outcome: 'retry', error, runAt: this.host.clock.now() });
    }
  }

  private failure(error: SerializedError, final: boolean): Settlement {
    const { id, token, attempt } = this.job;
    const policy = this.definition.retry;
    if (final || attempt >= maxAttempts(policy)) return { id, token, outcome: 'failed', error };
    const delay = backoffDelay(policy?.backoff ?? defaultRetryPolicy.backoff, attempt, this.host.random);
    return { id, token, outcome: 'retry', error, runAt: this.host.clock.now() + delay };
  }

  private finish(settlement: Settlement | undefined): void {
    this.done = true;
    this.logEnd(settlement);
    this.instrument?.end(settlement);
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    if (this.parent) {
      this.parent.send(msg.parentFinished());
      this.parent = undefined;
      this.host.actorStopped();
    }
    if (this.waitingCounted) {
      this.waitingCounted = false;
      this.host.waitingParents--;
    }
    this.host.attemptFinished(this, settlement);
  }

  /**
   * One line per attempt end: completions at debug (they are the common case and can run at
   * 100,000/s), everything that needs a person's eye at info or warn, with the error's code.
   * The error goes under `error`, not `err`: it is already serialized, and pino's `err`
   * serializer, made for Error instances, would mangle it.
   */
  private logEnd(settlement: Settlement | undefined): void {
    // The common case first, and without a clock read when nothing is written.
    if (settlement?.outcome === 'completed' && !this.host.logger.isLevelEnabled?.('debug')) return;
    const durationMs = this.host.clock.now() - this.startedAt;
    if (!settlement) return this.log.warn({ durationMs }, 'job attempt lost its lease; another attempt owns the job');
    switch (settlement.outcome) {
      case 'completed':
        this.log.debug({ durationMs }, 'job completed');
        return;
      case 'retry':
        return this.log.info({ durationMs, error: settlement.error, retryAt: settlement.runAt }, 'job attempt failed; it will be retried');
      case 'failed':
        return this.log.info({ durationMs, error: settlement.error }, 'job failed');
      case 'cancelled':
        return this.log.info({ durationMs, error: settlement.error }, 'job cancelled');
    }
  }

  /** Delivered by the system when a child of this job settles, wherever it ran. */
  childSettled(event: SettledJobEvent): void {
    this.parent?.send(msg.childSettled(event));
  }

  progress(value: unknown): void {
    if (this.done) return;
    this.host.progress(this.job, value);
  }

  async spawn(definition: AnyJobDefinition, input: unknown, options: SpawnOptions = {}): Promise<unknown> {
    const { host, job } = this;
    if (this.done) throw new JobError('JOB_CANCELLED', `Parent ${job.id} has already settled.`);
    if (host.jobs.get(definition.name) !== definition) throw new InputError('JOB_TYPE_UNKNOWN', `No job named ${definition.name} is registered.`);
    if (++this.spawned > host.maxChildren) throw new OverloadError('CHILDREN_LIMIT', `A parent may spawn at most ${host.maxChildren} children.`);
    if (!this.waitingCounted) {
      // Counted from the first spawn, not from when the wait begins, so that two parents
      // spawning in the same tick cannot both slip under the bound.
      if (host.waitingParents >= host.maxWaitingParents) {
        throw new OverloadError('WAITING_PARENTS_FULL', `${host.waitingParents} parents are already waiting for children.`);
      }
      this.waitingCounted = true;
      host.waitingParents++;
    }
    const validated = await host.validate(definition, input);
    const policy = options.onFailure ?? 'fail-parent';
    const parent = this.ensureParent();
    const outcome = await host.enqueue({
      id: host.newId(),
      name: definition.name,
      input: validated,
      priority: options.priority ?? definition.priority ?? job.priority,
      parentId: job.id,
      rootId: job.rootId,
      childKey: options.key,
      onFailure: policy,
      // The parent's meta (tenant, ...) passes down; the propagated context is the parent's own.
      meta: inheritMeta(job.meta, host.instrumentation?.propagate()),
    });
    if (!outcome.ok) {
      if (outcome.code === 'QUEUE_FULL') throw new OverloadError('QUEUE_FULL');
      throw new JobError('JOB_CANCELLED', `Parent ${job.id} is no longer running.`);
    }
    const result = new Promise<unknown>((resolve, reject) => {
      const waiter = { settle: (event: SettledJobEvent) => this.childOutcome(event, policy, resolve, reject) };
      if (!outcome.created && isTerminal(outcome.status)) {
        // A re-run parent spawning a key whose child already finished: no event will come.
        host.store.get(outcome.id).then((record) => waiter.settle(settledFromRecord(record, outcome.id)), reject);
      } else if (!this.done) {
        parent.send(msg.childSpawned(outcome.id, waiter));
      }
    });
    // Spawns nobody awaits (fire and forget) must not surface as unhandled rejections.
    result.catch(() => undefined);
    return result;
  }

  private childOutcome(event: SettledJobEvent, policy: string, resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
    if (event.type === 'job.completed') {
      resolve(policy === 'continue' ? { id: event.id, status: 'completed', output: event.output } : event.output);
      return;
    }
    if (policy === 'continue') resolve({ id: event.id, status: event.status, error: event.error });
    else if (policy === 'ignore') resolve(undefined);
    else {
      const error = new JobError('CHILD_FAILED', `Child ${event.id} (${event.name}) ${event.status}: ${event.error.message}`, {
        details: { childId: event.id, childError: event.error },
      });
      reject(error);
      this.abort(error);
    }
  }

  async children(): Promise<ChildResult<unknown>[]> {
    const records = await this.host.store.children(this.job.id);
    const out: ChildResult<unknown>[] = [];
    for (const record of records) {
      if (record.status === 'completed') out.push({ id: record.id, status: 'completed', output: record.output });
      else if ((record.status === 'failed' || record.status === 'cancelled') && record.onFailure !== 'ignore') {
        out.push({ id: record.id, status: record.status, error: record.error! });
      }
    }
    return out;
  }

  private ensureParent(): ParentActorRef {
    if (this.parent) return this.parent;
    const parent = createActor(parentLogic, {
      input: { jobId: this.job.id, hooks: { waiting: (isWaiting) => this.onWaiting(isWaiting), maxEarly: this.host.maxChildren } },
      ...this.host.inspectOption,
    });
    this.parent = parent;
    this.host.actorStarted();
    parent.start();
    return parent;
  }

  /** While it waits for children the parent gives its worker back, so a tree deeper than the pool completes. */
  private onWaiting(isWaiting: boolean): void {
    if (this.done) return;
    if (isWaiting && this.worker) {
      const worker = this.worker;
      this.worker = undefined;
      this.host.releaseWorker(worker, this.job.name);
    }
    this.host.setWaiting(this.job, isWaiting);
  }
}

/** The `ctx` a job's logic sees: a narrow view of its attempt (the attempt itself stays out of reach). */
class AttemptContext implements JobContext {
  readonly #attempt: JobAttempt;
  constructor(attempt: JobAttempt) {
    this.#attempt = attempt;
  }
  get id(): string {
    return this.#attempt.job.id;
  }
  get name(): string {
    return this.#attempt.job.name;
  }
  get attempt(): number {
    return this.#attempt.job.attempt;
  }
  get parentId(): string | undefined {
    return this.#attempt.job.parentId;
  }
  get rootId(): string {
    return this.#attempt.job.rootId;
  }
  get signal(): AbortSignal {
    return this.#attempt.signal;
  }
  get log(): Logger {
    return this.#attempt.log;
  }
  get blobs(): BlobStore {
    const blobs = this.#attempt.host.blobs;
    if (!blobs) throw new TypeError('ctx.blobs: this job system has no blob store (createJobSystem({ blobs }))');
    return blobs;
  }
  progress(value: unknown): void {
    this.#attempt.progress(value);
  }
  spawn(definition: AnyJobDefinition, input: unknown, options?: SpawnOptions): Promise<any> {
    return this.#attempt.spawn(definition, input, options);
  }
  children(): Promise<ChildResult<unknown>[]> {
    return this.#attempt.children();
  }
}

function inheritMeta(parent: Record<string, string> | undefined, propagated: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!propagated) return parent;
  return parent ? { ...parent, ...propagated } : propagated;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function settledFromRecord(record: JobRecord | undefined, id: string): SettledJobEvent {
  const base = { id, name: record?.name ?? 'unknown', seq: 0, at: record?.finishedAt ?? 0, parentId: record?.parentId, rootId: record?.rootId ?? id };
  if (record?.status === 'completed') return { ...base, type: 'job.completed', status: 'completed', output: record.output };
  const error = record?.error ?? { code: 'JOB_NOT_FOUND', message: `Child ${id} is gone (past retention).` };
  if (record?.status === 'cancelled') return { ...base, type: 'job.cancelled', status: 'cancelled', error };
  return { ...base, type: 'job.failed', status: 'failed', error };
}
