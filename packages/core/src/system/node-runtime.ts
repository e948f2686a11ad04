import type { AnyActorRef } from 'xstate';
import type { Clock } from '../clock.js';
import { JobError, SystemStateError, type SerializedError } from '../errors.js';
import type { AttemptHost } from '../job/attempt-host.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { JobContext } from '../job/job-context.js';
import { JobAttempt } from '../job/job-attempt.js';
import { newJobId } from '../job/new-job-id.js';
import type { Instrumentation } from '../instrumentation.js';
import type { ThreadRun } from '../isolation/thread-pool.js';
import type { Logger } from '../logger.js';
import { msg } from '../messages.js';
import type { ClaimedJob, EnqueueOutcome, JobPlacement, JobStore, LeaseRef, NewJob, Settlement } from '../store/job-store.js';
import type { SupervisorActorRef } from '../supervisor/supervisor-logic.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { AttemptRegistry } from './attempt-registry.js';
import { Batcher } from './batcher.js';
import { ClaimTracker } from './claim-tracker.js';
import type { EventStream } from './event-stream.js';
import { IdleReports } from './idle-reports.js';
import { JobExecutors } from './job-executors.js';
import type { JobSystemOptions } from './job-system.js';
import { LeaseRenewer } from './lease-renewer.js';
import { createNodeSupervisor } from './node-supervisor.js';
import type { NodeConfig } from './node-config.js';
import type { NodeState } from './node-state.js';
import { Reconciler } from './reconciler.js';
import { Scheduler } from '../schedule/scheduler.js';
import { ResultWaiters } from './result-waiters.js';
import { Settler } from './settler.js';
import { SignalRouter } from './signal-router.js';
import { validateInput } from './validate-input.js';
import { isActive } from '../machines/is-active.js';
import { within } from './within.js';

/**
 * The node: the actors that run jobs here and everything they call. It feeds the supervisor
 * (claims, attempts, idle reports batched per tick), keeps this node's attempts and their leases,
 * settles them, and routes the store's signals — hints only — to attempts, result waiters and
 * event streams, which a `Reconciler` brings back in line with the records when a signal is lost.
 * Users never hold it: `createJobSystem` hands out the `JobSystem` facade.
 */
export class NodeRuntime implements AttemptHost {
  readonly nodeId: string;
  readonly store: JobStore;
  readonly jobs: ReadonlyMap<string, AnyJobDefinition>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly state: NodeState;
  readonly inspectOption: AttemptHost['inspectOption'];
  readonly instrumentation: Instrumentation | undefined;
  readonly blobs: BlobStore | undefined;
  readonly maxChildren: number;
  readonly maxWaitingParents: number;
  readonly queueLimit: number;
  /** Items one `submitMany` may carry. */
  readonly maxBatch: number;
  readonly workers: number;
  readonly attempts = new AttemptRegistry();
  readonly results: ResultWaiters;
  readonly streams = new Set<EventStream>();
  /** Enqueues of one tick (submits and spawns) go to the store as one call. */
  readonly enqueueBatch: Batcher<NewJob, EnqueueOutcome>;
  readonly settler: Settler;
  supervisor: SupervisorActorRef | undefined;

  private readonly options: JobSystemOptions;
  private readonly leaseMs: number;
  private readonly renewer: LeaseRenewer;
  readonly reconciler: Reconciler;
  readonly scheduler: Scheduler;
  private readonly signals = new SignalRouter(this);
  private readonly claims: ClaimTracker;
  private dispatcher: AnyActorRef | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Idle reports of one tick reach the dispatcher as one message. */
  private readonly idleReports = new IdleReports((reports) => this.dispatcher?.send(msg.workersIdle(reports)));
  private readonly executors: JobExecutors;
  /** Called whenever an attempt or a settlement ends, while `stop()` waits for the node to drain. */
  drainCheck: (() => void) | undefined;

  constructor(config: NodeConfig) {
    const { options } = config;
    this.options = options;
    this.nodeId = config.nodeId;
    this.store = config.store;
    this.jobs = config.jobs;
    this.clock = config.clock;
    this.logger = config.logger;
    this.state = config.state;
    this.queueLimit = config.queueLimit;
    this.leaseMs = config.leaseMs;
    this.workers = options.workers;
    this.instrumentation = options.instrumentation;
    this.blobs = options.blobs;
    this.maxChildren = options.trees?.maxChildren ?? 100_000;
    this.maxBatch = options.queue?.maxBatch ?? 1_000;
    this.maxWaitingParents = options.trees?.maxWaitingParents ?? 10_000;
    this.inspectOption = options.inspect ? { inspect: options.inspect } : {};
    this.enqueueBatch = new Batcher((items) => this.store.enqueue(items, { limit: this.queueLimit }));
    this.settler = new Settler(
      this.store,
      this.clock,
      this.logger,
      () => this.drainCheck?.(),
      (worker, error) => {
        if (isActive(worker)) worker.send(msg.workerFault(error));
      },
    );
    this.results = new ResultWaiters(this.store, options.results?.maxWaiters ?? 100_000);
    this.renewer = new LeaseRenewer(this.clock, this.store, this.leaseMs, this.attempts, this.logger);
    this.reconciler = new Reconciler(this, options.reconcileMs ?? 5_000);
    this.scheduler = new Scheduler(this, options.scheduler === false ? 0 : (options.scheduler?.pollMs ?? 1_000));
    this.claims = new ClaimTracker(this.store, (jobs) => this.handBackClaimed(jobs), this.logger);
    this.executors = new JobExecutors(this.clock, this.logger, this.state, options.threads, this);
  }

  start(): void {
    this.unsubscribe = this.store.subscribe(this.signals.listener);
    const store = this.store;
    const supervisor = createNodeSupervisor({
      options: this.options,
      nodeId: this.nodeId,
      jobs: this.jobs,
      clock: this.clock,
      logger: this.logger,
      state: this.state,
      leaseMs: this.leaseMs,
      inspectOption: this.inspectOption,
      claim: (request) => this.claims.claim(request),
      claimNow: store.claimNow ? (request) => store.claimNow!(request) : undefined,
      startAttempt: (job, worker) => this.startAttempt(job, worker),
      reportIdle: (worker, released) => this.idleReports.add(worker, released),
      workerCrashed: (worker, error) => this.workerCrashed(worker, error),
    });
    this.supervisor = supervisor;
    this.state.actors += 2 + this.workers;
    this.state.changed();
    supervisor.start();
    this.dispatcher = supervisor.getSnapshot().context.dispatcher;
    this.renewer.start();
    this.reconciler.start();
    if (this.options.scheduler !== false) this.scheduler.start();
  }

  wakeDispatcher(): void {
    this.dispatcher?.send(msg.workAvailable());
  }

  /** Stops claiming: the dispatcher pauses (running attempts go on). */
  pause(): void {
    this.dispatcher?.send(msg.dispatcherPause());
  }

  /**
   * Ends this node's part: aborts what still runs (handed back), waits for claims in flight and
   * hands back what they bring, records every settlement, then stops the actors.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.pause();
    this.claims.handBack();
    const shutdown = new SystemStateError('SHUTTING_DOWN', 'The system stopped before the job finished; it was handed back.');
    for (const attempt of [...this.attempts.values()]) attempt.handBack(shutdown);
    // Claimed but not yet given to a worker (a worker was removed mid-claim): handed back too.
    const backlog = (this.dispatcher?.getSnapshot() as { context: { state: { backlog: ClaimedJob[] } } } | undefined)?.context.state;
    if (backlog && backlog.backlog.length > 0) this.handBackClaimed(backlog.backlog.splice(0));
    // A store that never answers must not hold stop() forever: its claim's jobs then run out their lease.
    await within(this.clock, this.claims.idle(), timeoutMs);
    await this.enqueueBatch.idle();
    await this.settler.idle();
    this.settler.close();
    this.renewer.stop();
    this.reconciler.stop();
    this.scheduler.stop();
    this.supervisor?.send({ type: 'supervisor.shutdown' });
    this.supervisor?.stop();
    this.state.actors -= 2 + this.workers;
    this.state.changed();
    // A settlement recorded during the drain may not have reached us as a signal yet (a remote
    // store publishes after it answers): its waiters read it from the record; the rest can no
    // longer hear anything here and are told so rather than left pending.
    await this.reconciler.settleWaiters();
    this.results.close(new SystemStateError('SHUTTING_DOWN', 'This node stopped before the job settled; its result is in the store.'));
    this.unsubscribe?.();
    await this.executors.close();
    for (const stream of this.streams) stream.end();
  }

  /** Jobs leased to this node that will not run here: back to the store, at once. */
  private handBackClaimed(jobs: ClaimedJob[]): void {
    for (const job of jobs) this.settler.settle({ id: job.id, token: job.token, outcome: 'released' }, undefined);
  }

  // ---- what the actors and attempts call ------------------------------------------------------

  random(): number {
    return Math.random();
  }

  newId(placement: JobPlacement): string {
    return this.store.newId ? this.store.newId(placement) : newJobId();
  }

  validate(definition: AnyJobDefinition, input: unknown): unknown {
    return validateInput(definition, input);
  }

  enqueue(job: NewJob): Promise<EnqueueOutcome> {
    return this.enqueueBatch.submit(job).catch((error: unknown) => {
      throw new SystemStateError('STORE_UNAVAILABLE', 'The job store did not accept the job.', { cause: error });
    });
  }

  reserveWaitingParent(): boolean {
    if (this.state.waitingParents >= this.maxWaitingParents) return false;
    this.state.waitingParents++;
    this.state.changed();
    return true;
  }

  releaseWaitingParent(): void {
    this.state.waitingParents--;
    this.state.changed();
  }

  private startAttempt(job: ClaimedJob, worker: AnyActorRef): void {
    const definition = this.jobs.get(job.name);
    if (!definition) {
      // The claim filters by name, so only a store bug gets here; fail the job, not the worker.
      const error: SerializedError = { code: 'JOB_TYPE_UNKNOWN', message: `No job named ${job.name} on ${this.nodeId}.` };
      this.settler.settle({ id: job.id, token: job.token, outcome: 'failed', error }, undefined);
      this.idleReports.add(worker, job.name);
      return;
    }
    const attempt = new JobAttempt(job, definition, this, worker);
    this.attempts.add(attempt);
    const cancel = this.reconciler.takeEarlyCancel(job.id);
    if (cancel) attempt.abort(new JobError('JOB_CANCELLED', cancel.message));
    attempt.start();
  }

  attemptFinished(attempt: JobAttempt, settlement: Settlement | undefined, worker: AnyActorRef | undefined): void {
    this.attempts.remove(attempt);
    if (settlement) this.settler.settle(settlement, worker);
    if (worker) this.idleReports.add(worker, attempt.job.name);
    this.drainCheck?.();
  }

  releaseWorker(worker: AnyActorRef, jobName: string): void {
    this.idleReports.add(worker, jobName);
  }

  private workerCrashed(worker: AnyActorRef, error: unknown): void {
    this.state.restarted();
    this.logger.error({ err: error }, 'a worker crashed; restarting it');
    this.attempts.handBackFrom(
      worker,
      () => new SystemStateError('SHUTTING_DOWN', 'The worker running the job crashed; the job was handed back.', { cause: error }),
    );
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
    return this.executors.runInThread(run);
  }

  joinBatch(attempt: JobAttempt, ctx: JobContext): Promise<unknown> {
    return this.executors.joinBatch(attempt, ctx);
  }

  actorStarted(): void {
    this.state.actors++;
    this.state.changed();
  }

  actorStopped(): void {
    this.state.actors--;
    this.state.changed();
  }
}
