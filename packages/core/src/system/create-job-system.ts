import { createHash } from 'node:crypto';
import { nanoid } from 'nanoid';
import { newJobId } from '../job/new-job-id.js';
import { createActor, type AnyActorRef } from 'xstate';
import { ChurnMap } from '../churn-map.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { InputError, JobError, OverloadError, ScalableApiError, SystemStateError } from '../errors.js';
import { isSettledEvent, type JobEvent } from '../events.js';
import type { AttemptHost } from '../job/attempt-host.js';
import type { AnyJobDefinition, JobInput, JobOutput } from '../job/define-job.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { JobAttempt } from '../job/job-attempt.js';
import { withPropagated, type Instrumentation } from '../instrumentation.js';
import { ThreadPool, type ThreadRun } from '../isolation/thread-pool.js';
import { silentLogger, type Logger } from '../logger.js';
import { msg, type IdleReport } from '../messages.js';
import { createMemoryStore } from '../store/memory-store.js';
import type { ClaimedJob, EnqueueOutcome, JobStore, LeaseRef, NewJob, Settlement, SettleOutcome, StoreSignal } from '../store/job-store.js';
import { supervisorLogic, type SupervisorActorRef } from '../supervisor/supervisor-logic.js';
import { flattenTree } from '../tree/declared-tree.js';
import { readTree } from '../tree/tree-view.js';
import { actorsViewKey, readActorsView, type ActorsView } from './actor-view.js';
import { Batcher } from './batcher.js';
import { EventStream } from './event-stream.js';
import { Handle } from './job-handle.js';
import type {
  CancelResult,
  EventsOptions,
  Health,
  JobHandle,
  JobInfo,
  JobSystem,
  JobSystemOptions,
  JobSystemStats,
  StopOptions,
  SubmitOptions,
  TreeNode,
  TreeSpec,
} from './job-system.js';
import { LeaseRenewer } from './lease-renewer.js';
import { RateMeter } from './rate-meter.js';
import { ResultWaiters } from './result-waiters.js';
import { validateInput } from './validate-input.js';

const CANCELLED_BY_USER = { code: 'JOB_CANCELLED', message: 'The job was cancelled.' } as const;
/** Back-off 0.1, 0.2, 0.4 … 2 s: about a minute of store outage before a result is given up (and the job re-runs). */
const maxSettleRetries = 32;

/**
 * Creates a job system: the supervisor, dispatcher and workers over a store.
 *
 * @example
 * const system = createJobSystem({ jobs: [resize], workers: 8, queue: { limit: 10_000 } });
 * await system.start();
 * const handle = await system.submit(resize, { width: 64 });
 * console.log(await handle.result());
 */
export function createJobSystem<const Jobs extends readonly AnyJobDefinition[]>(options: JobSystemOptions<Jobs>): JobSystem<Jobs> {
  return new JobSystemRuntime(options) as unknown as JobSystem<Jobs>;
}

class JobSystemRuntime implements JobSystem, AttemptHost {
  readonly nodeId: string;
  readonly store: JobStore;
  readonly jobs: ReadonlyMap<string, AnyJobDefinition>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly inspectOption: AttemptHost['inspectOption'];
  readonly instrumentation: Instrumentation | undefined;
  readonly blobs: BlobStore | undefined;
  readonly maxChildren: number;
  readonly maxWaitingParents: number;
  waitingParents = 0;

  private readonly ownsStore: boolean;
  private readonly queueLimit: number;
  private readonly leaseMs: number;
  private state: Health = 'idle';
  private supervisor: SupervisorActorRef | undefined;
  private dispatcher: AnyActorRef | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly attempts = new ChurnMap<string, JobAttempt>();
  private readonly results: ResultWaiters;
  private readonly renewer: LeaseRenewer;
  private readonly streams = new Set<EventStream>();
  private readonly enqueueBatch: Batcher<NewJob, EnqueueOutcome>;
  private readonly settleBatch: Batcher<Settlement, SettleOutcome>;
  private idleReports: IdleReport[] = [];
  private workAnnounced = false;
  private liveActors = 0;
  /** Settlements waiting to be sent again after a store outage. */
  private settleRetries = 0;
  private restarts = 0;
  private drainCheck: (() => void) | undefined;
  private threads: ThreadPool | undefined;
  private readonly counters = { submitted: 0, rejected: 0, completed: 0, failed: 0, cancelled: 0 };
  private readonly rates: { submitted: RateMeter; completed: RateMeter; failed: RateMeter };

  constructor(private readonly options: JobSystemOptions) {
    if (!(Number.isInteger(options.workers) && options.workers > 0)) throw new TypeError('createJobSystem: workers must be a positive integer');
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.nodeId = options.nodeId ?? `node-${nanoid(10)}`;
    this.queueLimit = options.queue?.limit ?? 10_000;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.instrumentation = options.instrumentation;
    this.blobs = options.blobs;
    this.maxChildren = options.trees?.maxChildren ?? 100_000;
    this.maxWaitingParents = options.trees?.maxWaitingParents ?? 10_000;
    this.inspectOption = options.inspect ? { inspect: options.inspect } : {};
    const jobs = new Map<string, AnyJobDefinition>();
    for (const job of options.jobs) {
      if (jobs.has(job.name)) throw new TypeError(`createJobSystem: two jobs are named ${job.name}`);
      jobs.set(job.name, job);
    }
    this.jobs = jobs;
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? createMemoryStore({ clock: this.clock, ...(options.retention ? { retention: options.retention } : {}) });
    this.enqueueBatch = new Batcher((items) => this.store.enqueue(items, { limit: this.queueLimit }));
    this.settleBatch = new Batcher((items) => this.store.settle(items));
    this.results = new ResultWaiters(this.store);
    this.renewer = new LeaseRenewer(this.clock, this.store, this.leaseMs, this.attempts, this.logger);
    this.rates = { submitted: new RateMeter(this.clock), completed: new RateMeter(this.clock), failed: new RateMeter(this.clock) };
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new SystemStateError('NOT_STARTED', `start() called on a system that is ${this.state}`);
    this.unsubscribe = this.store.subscribe((signal) => this.onSignal(signal));
    const names = [...this.jobs.keys()];
    const limits = new Map<string, number>();
    for (const job of this.jobs.values()) if (job.concurrency !== undefined) limits.set(job.name, job.concurrency);
    const supervisor = createActor(supervisorLogic, {
      ...this.inspectOption,
      // xstate's own timers (the supervisor's cool-down) follow the injected clock too.
      clock: this.clock,
      input: {
        workers: this.options.workers,
        restartIntensity: this.options.restartIntensity ?? { maxRestarts: 10, withinMs: 60_000 },
        runtime: {
          clock: this.clock,
          dispatcher: {
            clock: this.clock,
            limits,
            retryMs: 1_000,
            pollMs: this.options.pollMs ?? 1_000,
            claim: (max, capacity) => this.store.claim({ owner: this.nodeId, max, leaseMs: this.leaseMs, names, capacity }),
            claimNow: this.store.claimNow
              ? (max, capacity) => this.store.claimNow!({ owner: this.nodeId, max, leaseMs: this.leaseMs, names, capacity })
              : undefined,
            restMs: this.options.restMs ?? 25,
            claimFailed: (error) => this.logger.error({ err: error }, 'claiming jobs failed; retrying'),
          },
          worker: {
            startAttempt: (job, worker) => this.startAttempt(job, worker),
            reportIdle: (worker, released) => this.reportIdle(worker, released),
          },
          workerCrashed: (worker, error) => this.workerCrashed(worker, error),
          unhealthy: (error) => {
            this.logger.error({ err: error }, 'worker restart intensity exceeded: the system stops taking work');
            if (this.state === 'healthy') this.state = 'unhealthy';
          },
          healthy: () => {
            this.logger.warn({}, 'cool-down over: workers restarted, the system takes work again');
            if (this.state === 'unhealthy') this.state = 'healthy';
          },
        },
      },
    });
    this.supervisor = supervisor;
    this.state = 'healthy';
    this.liveActors += 1 + 1 + this.options.workers;
    supervisor.start();
    this.dispatcher = supervisor.getSnapshot().context.dispatcher;
    this.renewer.start();
  }

  async stop(options: StopOptions = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') {
      this.state = 'stopped';
      return;
    }
    const wasHealthy = this.state === 'healthy';
    this.state = 'stopping';
    const drain = options.drain ?? true;
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (drain && wasHealthy) {
      // A durable store is shared: other nodes run what is queued. Claiming more here would only
      // hand it back at the deadline (\`npm run chaos sigterm\` saw a draining node take 10 new
      // jobs), so only the jobs already running finish. A memory store's queue has no other node:
      // draining runs it down.
      if (this.store.durable) this.dispatcher?.send(msg.dispatcherPause());
      await this.drained(timeoutMs);
    }
    this.dispatcher?.send(msg.dispatcherPause());
    const shutdown = new SystemStateError('SHUTTING_DOWN', 'The system stopped before the job finished; it was handed back.');
    for (const attempt of [...this.attempts.values()]) attempt.abort(shutdown);
    await this.enqueueBatch.idle();
    await this.settleBatch.idle();
    this.renewer.stop();
    this.supervisor?.send({ type: 'supervisor.shutdown' });
    this.supervisor?.stop();
    this.liveActors -= 1 + 1 + this.options.workers;
    this.unsubscribe?.();
    await this.threads?.close();
    for (const stream of this.streams) stream.end();
    if (this.ownsStore) await this.store.close();
    this.state = 'stopped';
  }

  /** Resolves when nothing runs here and (for a store only this process uses) nothing is queued. */
  private drained(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const finish = () => {
        this.drainCheck = undefined;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        resolve();
      };
      timer = this.clock.setTimeout(finish, timeoutMs);
      this.drainCheck = () => {
        if (this.attempts.size > 0 || this.settleRetries > 0) return;
        if (this.store.durable) return finish();
        this.store.counts().then((c) => {
          if (c.queued + c.delayed + c.running + c.waitingChildren === 0) finish();
        }, finish);
      };
      this.drainCheck();
    });
  }

  health(): Health {
    return this.state;
  }

  /** Read by `actorsView(system)`; kept off the `JobSystem` interface. */
  [actorsViewKey](): ActorsView | undefined {
    return readActorsView(this.supervisor, this.clock.now());
  }

  // ---- submit ------------------------------------------------------------------------------

  // The submit path is written with callbacks rather than async/await on purpose: it runs once
  // per accepted request, and each async layer cost a promise and a microtask hop per job.
  // Every refusal still reaches the caller as a rejected promise, never as a synchronous throw.

  submit<J extends AnyJobDefinition>(job: J, input: JobInput<J>, options: SubmitOptions = {}): Promise<JobHandle<JobOutput<J>>> {
    if (!job || this.jobs.get(job.name) !== job) {
      return Promise.reject(this.reject(new InputError('JOB_TYPE_UNKNOWN', `No job named ${String(job?.name)} is registered.`)));
    }
    return this.submitValidated(job, input, options) as Promise<JobHandle<JobOutput<J>>>;
  }

  submitByName(name: string, input: unknown, options: SubmitOptions = {}): Promise<JobHandle> {
    const job = this.jobs.get(name);
    if (!job) return Promise.reject(this.reject(new InputError('JOB_TYPE_UNKNOWN', `No job named ${name} is registered.`)));
    return this.submitValidated(job, input, options);
  }

  private submitValidated(job: AnyJobDefinition, input: unknown, options: SubmitOptions): Promise<JobHandle> {
    let value: unknown;
    try {
      this.assertAccepting();
    } catch (refusal) {
      return Promise.reject(refusal);
    }
    try {
      value = validateInput(job, input);
    } catch (error) {
      return Promise.reject(this.reject(error));
    }
    if (value instanceof Promise) {
      return value.then(
        (validated: unknown) => this.enqueueValidated(job, validated, options),
        (error: unknown) => {
          throw this.reject(error);
        },
      );
    }
    return this.enqueueValidated(job, value, options);
  }

  private enqueueValidated(job: AnyJobDefinition, value: unknown, options: SubmitOptions): Promise<JobHandle> {
    let newJob: NewJob;
    try {
      newJob = { id: newJobId(), name: job.name, input: value, priority: options.priority ?? job.priority ?? 0 };
      if (options.delayMs !== undefined && options.delayMs > 0) newJob.runAt = this.clock.now() + options.delayMs;
      if (options.idempotencyKey !== undefined) {
        newJob.idempotencyKey = options.idempotencyKey;
        // Throws for input JSON cannot hold (a BigInt): a rejection like any other refusal.
        newJob.fingerprint = options.fingerprint ?? fingerprint(job.name, value);
      }
      const meta = withPropagated(this.instrumentation, options.meta);
      if (meta !== undefined) newJob.meta = meta;
    } catch (error) {
      return Promise.reject(this.reject(error));
    }
    return new Promise((resolve, reject) => {
      this.enqueueBatch.add(newJob, (error, outcome) => {
        if (error !== undefined) return reject(storeRefused(error));
        try {
          resolve(this.accepted(job.name, newJob, outcome!));
        } catch (refusal) {
          reject(refusal);
        }
      });
    });
  }

  private accepted(name: string, job: NewJob, outcome: EnqueueOutcome): JobHandle {
    if (!outcome.ok) {
      throw this.reject(
        outcome.code === 'QUEUE_FULL'
          ? new OverloadError('QUEUE_FULL', `The queue holds ${this.queueLimit} jobs, its bound.`)
          : outcome.code === 'STORE_UNAVAILABLE'
            ? new SystemStateError('STORE_UNAVAILABLE', 'The job store did not accept the job.')
            : new JobError('JOB_NOT_FOUND'),
      );
    }
    if (!outcome.created && (outcome.name !== name || outcome.fingerprint !== job.fingerprint)) {
      throw this.reject(
        new InputError('IDEMPOTENCY_CONFLICT', `Idempotency key ${job.idempotencyKey} is already used by job ${outcome.id} with other input.`, {
          details: { existingId: outcome.id },
        }),
      );
    }
    if (outcome.created) {
      this.counters.submitted++;
      this.rates.submitted.mark();
    }
    return new Handle(this, outcome.id, outcome.created, outcome.status);
  }

  async submitTree<J extends AnyJobDefinition>(tree: TreeSpec<J>): Promise<JobHandle<JobOutput<J>>> {
    this.assertAccepting();
    let jobs: NewJob[];
    try {
      jobs = await flattenTree(
        tree,
        async (node) => {
          if (this.jobs.get(node.job.name) !== node.job) throw new InputError('JOB_TYPE_UNKNOWN', `No job named ${node.job.name} is registered.`);
          return { id: newJobId(), input: await validateInput(node.job, node.input), priority: node.priority ?? node.job.priority ?? 0 };
        },
        this.maxChildren,
      );
    } catch (error) {
      throw this.reject(error);
    }
    const meta = withPropagated(this.instrumentation, undefined);
    if (meta) for (const job of jobs) job.meta = meta;
    const outcomes = await this.store.enqueue(jobs, { limit: this.queueLimit, atomic: true });
    return this.accepted(tree.job.name, jobs[0]!, outcomes[0]!) as JobHandle<JobOutput<J>>;
  }

  private assertAccepting(): void {
    if (this.state === 'healthy') return;
    const error =
      this.state === 'idle'
        ? new SystemStateError('NOT_STARTED')
        : this.state === 'unhealthy'
          ? new SystemStateError('UNHEALTHY')
          : new SystemStateError('SHUTTING_DOWN');
    throw this.reject(error);
  }

  private reject(error: unknown): unknown {
    this.counters.rejected++;
    return error;
  }

  enqueue(job: NewJob): Promise<EnqueueOutcome> {
    return this.enqueueBatch.submit(job).catch((error: unknown) => {
      throw storeRefused(error);
    });
  }

  // ---- queries -----------------------------------------------------------------------------

  handle<O = unknown>(id: string): JobHandle<O> {
    return new Handle<O>(this, id, false, 'queued');
  }

  get(id: string): Promise<JobInfo | undefined> {
    return fromStore(this.store.get(id));
  }

  tree(id: string, options: { maxNodes?: number } = {}): Promise<TreeNode | undefined> {
    return fromStore(readTree(this.store, id, options.maxNodes ?? 50_000));
  }

  cancel(id: string): Promise<CancelResult> {
    return fromStore(this.store.cancel(id, CANCELLED_BY_USER));
  }

  /** Resolves with the job's output or rejects with its error, whenever (and wherever) it settles. */
  waitResult(id: string): Promise<unknown> {
    return this.results.wait(id);
  }

  events(options: EventsOptions = {}): AsyncIterableIterator<JobEvent> {
    const { jobId, tree } = options;
    const accepts = jobId === undefined ? () => true : tree ? (e: JobEvent) => e.id === jobId || e.rootId === jobId : (e: JobEvent) => e.id === jobId;
    const stream = new EventStream(options.bufferSize ?? 10_000, accepts, (s) => this.streams.delete(s));
    this.streams.add(stream);
    return stream;
  }

  async stats(): Promise<JobSystemStats> {
    const counts = await fromStore(this.store.counts());
    const dispatcher = this.dispatcher?.getSnapshot().context.state as { idle: unknown[] } | undefined;
    return {
      health: this.state,
      queued: counts.queued,
      delayed: counts.delayed,
      running: counts.running,
      waitingChildren: counts.waitingChildren,
      workers: this.options.workers,
      idleWorkers: dispatcher?.idle.length ?? 0,
      waitingParents: this.waitingParents,
      actors: this.liveActors,
      restarts: this.restarts,
      ...this.counters,
      rates: { submitted: this.rates.submitted.perSecond(), completed: this.rates.completed.perSecond(), failed: this.rates.failed.perSecond() },
    };
  }

  // ---- the runtime the actors and attempts call --------------------------------------------

  random(): number {
    return Math.random();
  }

  newId(): string {
    return newJobId();
  }

  validate(definition: AnyJobDefinition, input: unknown): unknown {
    return validateInput(definition, input);
  }

  private startAttempt(job: ClaimedJob, worker: AnyActorRef): void {
    const definition = this.jobs.get(job.name);
    if (!definition) {
      // The claim filters by name, so only a store bug gets here; fail the job, not the worker.
      this.settleBatch.add(
        {
          id: job.id,
          token: job.token,
          outcome: 'failed',
          error: { code: 'JOB_TYPE_UNKNOWN', message: `No job named ${job.name} on ${this.nodeId}.` },
        },
        () => {},
      );
      this.reportIdle(worker, job.name);
      return;
    }
    const attempt = new JobAttempt(job, definition, this, worker);
    this.attempts.set(job.id, attempt);
    attempt.start();
  }

  attemptFinished(attempt: JobAttempt, settlement: Settlement | undefined): void {
    const { job } = attempt;
    this.attempts.delete(job.id);
    if (settlement) this.settle(settlement, attempt.worker, 0);
    if (attempt.worker) {
      const worker = attempt.worker;
      attempt.worker = undefined;
      this.reportIdle(worker, job.name);
    }
    this.drainCheck?.();
  }

  /**
   * Records how an attempt ended. A store that is unreachable (`STORE_UNAVAILABLE`: Redis
   * restarting, a network blip) is not the worker's fault: the settlement is sent again with
   * back-off, which is safe because it carries the attempt's fencing token — if another node
   * took the job over meanwhile, it is answered `stale` and changes nothing. Crashing workers
   * instead turned a one-second Redis restart into every node of a cluster going unhealthy for a
   * whole restart-intensity window, and re-ran every job whose result was in flight
   * (`npm run chaos redis-everysec`). Any other failure means the store misbehaves: the worker
   * that produced the result cannot trust it, so it crashes and is restarted.
   */
  private settle(settlement: Settlement, worker: AnyActorRef | undefined, tries: number): void {
    this.settleBatch.add(settlement, (error) => {
      this.drainCheck?.();
      if (error === undefined) return;
      const outage =
        (error as { code?: unknown }).code === 'STORE_UNAVAILABLE' || (error as { cause?: { code?: unknown } }).cause?.code === 'STORE_UNAVAILABLE';
      if (outage && tries < maxSettleRetries && this.state !== 'stopped') {
        this.logger.warn({ err: error, jobId: settlement.id, tries }, 'the store is unreachable; settling the job again later');
        this.settleRetries++;
        this.clock.setTimeout(
          () => {
            this.settleRetries--;
            this.settle(settlement, undefined, tries + 1);
            this.drainCheck?.();
          },
          Math.min(100 * 2 ** tries, 2_000),
        );
        return;
      }
      // The result is not recorded: the lease will run out and the job run again (at-least-once).
      this.logger.error({ err: error, jobId: settlement.id }, 'settling a job failed');
      if (!outage && worker && worker.getSnapshot().status === 'active') worker.send(msg.workerFault(error));
    });
  }

  releaseWorker(worker: AnyActorRef, jobName: string): void {
    this.reportIdle(worker, jobName);
  }

  /** Idle reports of one tick reach the dispatcher as one message. */
  private reportIdle(worker: AnyActorRef, released: string | undefined): void {
    this.idleReports.push({ worker, released });
    if (this.idleReports.length === 1) {
      queueMicrotask(() => {
        const reports = this.idleReports;
        this.idleReports = [];
        this.dispatcher?.send(msg.workersIdle(reports));
      });
    }
  }

  private workerCrashed(worker: AnyActorRef, error: unknown): void {
    this.restarts++;
    this.logger.error({ err: error }, 'a worker crashed; restarting it');
    for (const attempt of this.attempts.values()) {
      if (attempt.worker === worker) {
        attempt.worker = undefined;
        attempt.abort(new SystemStateError('SHUTTING_DOWN', 'The worker running the job crashed; the job was handed back.', { cause: error }));
      }
    }
  }

  progress(lease: LeaseRef, value: unknown): void {
    this.store.progress(lease, value).catch((error: unknown) => this.logger.warn({ err: error, jobId: lease.id }, 'recording progress failed'));
  }

  setWaiting(lease: LeaseRef, waiting: boolean): void {
    this.store
      .setWaiting(lease, waiting)
      .catch((error: unknown) => this.logger.warn({ err: error, jobId: lease.id }, 'recording a waiting parent failed'));
  }

  runInThread(run: ThreadRun): Promise<unknown> {
    // A replaced thread counts as a restart but not against the restart intensity: its job fails
    // with THREAD_CRASHED through its own retry policy, so one poison input cannot turn the node
    // unhealthy, while the count still shows in stats().
    this.threads ??= new ThreadPool(this.clock, this.options.threads, (why) => {
      this.restarts++;
      this.logger.warn({ why }, 'a job thread was replaced');
    });
    return this.threads.run(run);
  }

  actorStarted(): void {
    this.liveActors++;
  }

  actorStopped(): void {
    this.liveActors--;
  }

  private onSignal(signal: StoreSignal): void {
    switch (signal.type) {
      case 'work.available':
        // Many enqueues in one tick wake the dispatcher once.
        if (!this.workAnnounced) {
          this.workAnnounced = true;
          queueMicrotask(() => {
            this.workAnnounced = false;
            this.dispatcher?.send(msg.workAvailable());
          });
        }
        return;
      case 'job.event':
        return this.onJobEvent(signal.event);
      case 'job.cancel.requested':
        if (signal.owner === this.nodeId) this.attempts.get(signal.id)?.abort(new JobError('JOB_CANCELLED', signal.reason.message));
        return;
      case 'job.dropped':
        return;
    }
  }

  private onJobEvent(event: JobEvent): void {
    if (isSettledEvent(event)) {
      // Counted from the store's events, not from attempts: a job cancelled while queued never
      // had an attempt. With a shared store these are cluster-wide counts seen since start.
      if (event.type === 'job.completed') {
        this.counters.completed++;
        this.rates.completed.mark();
      } else if (event.type === 'job.failed') {
        this.counters.failed++;
        this.rates.failed.mark();
      } else this.counters.cancelled++;
      this.results.settled(event);
      if (event.parentId !== undefined) this.attempts.get(event.parentId)?.childSettled(event);
    }
    if (this.streams.size > 0) for (const stream of this.streams) if (stream.accepts(event)) stream.push(event);
  }
}

function storeRefused(error: unknown): SystemStateError {
  return new SystemStateError('STORE_UNAVAILABLE', 'The job store did not accept the job.', { cause: error });
}

/** A store that fails to answer is `STORE_UNAVAILABLE` to callers (503 at the HTTP edge). */
function fromStore<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    if (error instanceof ScalableApiError) throw error;
    throw new SystemStateError('STORE_UNAVAILABLE', 'The job store did not answer.', { cause: error });
  });
}

/** A digest of the input so a reused idempotency key with other input is caught. */
function fingerprint(name: string, input: unknown): string {
  return createHash('sha256')
    .update(name)
    .update('\0')
    .update(JSON.stringify(input) ?? 'undefined')
    .digest('base64url');
}
