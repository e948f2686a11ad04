import type { TimerHandle } from '../clock.js';
import { defaultCancelError, SystemStateError } from '../errors.js';
import type { JobEvent } from '../events.js';
import type { AnyJobDefinition, JobInput, JobOutput } from '../job/define-job.js';
import { ScheduleControl, type ScheduleInfo, type ScheduleOptions } from '../schedule/schedule-control.js';
import type { JobStore, ListPage, ListQuery } from '../store/job-store.js';
import type { ScheduleEvery } from '../store/schedule-store.js';
import { readTree } from '../tree/tree-view.js';
import { actorsViewKey, readActorsView, type ActorsView } from './actor-view.js';
import { EventStream } from './event-stream.js';
import { readFlow, type FlowViewOptions, type JobTypeFlow } from './flow-view.js';
import { fromStore } from './from-store.js';
import { Handle } from './job-handle.js';
import type {
  CancelResult,
  EventsOptions,
  Health,
  JobHandle,
  JobInfo,
  JobSystem,
  JobSystemStats,
  StopOptions,
  SubmitManyItem,
  SubmitManyOptions,
  SubmitManyResult,
  SubmitOptions,
  SubmitTreeOptions,
  TreeNode,
  TreeSpec,
} from './job-system.js';
import type { NodeRuntime } from './node-runtime.js';
import type { NodeLiveStore } from './node-state.js';
import type { WaitOptions } from './result-waiters.js';
import { BatchSubmitter } from './batch-submitter.js';
import { Submitter } from './submitter.js';
import type { WebhookPolicy } from '../webhook/webhook-options.js';

/**
 * What `createJobSystem` returns: the public face of one node. It holds the node runtime out of
 * reach (`#node`), so callers go through validation, bounds and counters — never straight to the
 * runtime's own enqueue — and it owns the node's lifecycle: start, drain, stop.
 */
export class JobSystemFacade<Jobs extends readonly AnyJobDefinition[]> implements JobSystem<Jobs> {
  readonly #node: NodeRuntime;
  readonly #submitter: Submitter;
  readonly #batches: BatchSubmitter;
  readonly #ownsStore: boolean;
  readonly #schedules: ScheduleControl;

  constructor(node: NodeRuntime, ownsStore: boolean, webhooks?: WebhookPolicy) {
    this.#node = node;
    this.#ownsStore = ownsStore;
    this.#submitter = new Submitter(node, this, webhooks);
    this.#schedules = new ScheduleControl(node);
    this.#batches = new BatchSubmitter(node, this.#submitter);
  }

  get nodeId(): string {
    return this.#node.nodeId;
  }

  get store(): JobStore {
    return this.#node.store;
  }

  get jobs(): ReadonlyMap<string, Jobs[number]> {
    return this.#node.jobs;
  }

  get live(): NodeLiveStore {
    return this.#node.state.readOnly;
  }

  async start(): Promise<void> {
    const node = this.#node;
    const health = node.state.health;
    if (health !== 'idle') throw new SystemStateError('NOT_STARTED', `start() called on a system that is ${health}`);
    node.start();
    node.state.store.trigger.started();
    node.state.startSampling(() => readActorsView(node.supervisor, node.clock.now()));
  }

  async stop(options: StopOptions = {}): Promise<void> {
    const node = this.#node;
    const { state } = node;
    if (state.health === 'stopped' || state.health === 'idle') {
      state.store.trigger.stopped();
      return;
    }
    const wasHealthy = state.health === 'healthy';
    state.store.trigger.stopping();
    if ((options.drain ?? true) && wasHealthy) {
      // A durable store is shared: other nodes run what is queued. Claiming more here would only
      // hand it back at the deadline (`npm run chaos sigterm` saw a draining node take 10 new
      // jobs), so only the jobs already running finish. A memory store's queue has no other node:
      // draining runs it down — unless this node runs nothing (`workers: 0`).
      if (node.store.durable || node.workers === 0) node.pause();
      await this.drained(options.timeoutMs ?? 30_000);
    }
    await node.shutdown(options.timeoutMs ?? 30_000);
    state.stopSampling();
    if (this.#ownsStore) await node.store.close();
    state.flush();
    state.store.trigger.stopped();
  }

  /** Resolves when nothing runs here and (for a store only this process uses, with workers) nothing is queued. */
  private drained(timeoutMs: number): Promise<void> {
    const node = this.#node;
    return new Promise((resolve) => {
      const finish = () => {
        node.drainCheck = undefined;
        node.clock.clearTimeout(timer);
        resolve();
      };
      // finish() runs from the timer or a later drain check, never before this line.
      const timer: TimerHandle = node.clock.setTimeout(finish, timeoutMs);
      node.drainCheck = () => {
        if (node.attempts.size > 0 || node.settler.pending > 0) return;
        if (node.store.durable || node.workers === 0) return finish();
        node.store.counts().then((c) => {
          if (c.queued + c.delayed + c.running + c.waitingChildren === 0) finish();
        }, finish);
      };
      node.drainCheck();
    });
  }

  health(): Health {
    return this.#node.state.health;
  }

  /** Read by `actorsView(system)`; kept off the `JobSystem` interface. */
  [actorsViewKey](): ActorsView | undefined {
    return readActorsView(this.#node.supervisor, this.#node.clock.now());
  }

  submit<J extends Jobs[number]>(job: J, input: JobInput<J>, options: SubmitOptions = {}): Promise<JobHandle<JobOutput<J>>> {
    return this.#submitter.submit(job, input, options) as Promise<JobHandle<JobOutput<J>>>;
  }

  submitByName(name: string, input: unknown, options: SubmitOptions = {}): Promise<JobHandle> {
    return this.#submitter.submitByName(name, input, options);
  }

  submitTree<J extends Jobs[number]>(tree: TreeSpec<J>, options: SubmitTreeOptions = {}): Promise<JobHandle<JobOutput<J>>> {
    return this.#submitter.submitTree(tree, options);
  }

  submitMany<J extends Jobs[number]>(
    job: J,
    items: readonly SubmitManyItem<JobInput<J>>[],
    options: SubmitManyOptions = {},
  ): Promise<SubmitManyResult<JobOutput<J>>[]> {
    const registered = job && this.#node.jobs.get(job.name) === job ? job : undefined;
    return this.#batches.submitMany(registered, items, options) as Promise<SubmitManyResult<JobOutput<J>>[]>;
  }

  submitManyByName(name: string, items: readonly SubmitManyItem[], options: SubmitManyOptions = {}): Promise<SubmitManyResult[]> {
    return this.#batches.submitMany(this.#node.jobs.get(name), items, options);
  }

  handle<O = unknown>(id: string): JobHandle<O> {
    return new Handle<O>(this, id, false, 'queued');
  }

  get(id: string): Promise<JobInfo | undefined> {
    return fromStore(this.#node.store.get(id));
  }

  list(query: ListQuery): Promise<ListPage> {
    return fromStore(this.#node.store.list(query));
  }

  tree(id: string, options: { maxNodes?: number } = {}): Promise<TreeNode | undefined> {
    return fromStore(readTree(this.#node.store, id, options.maxNodes ?? 50_000));
  }

  cancel(id: string): Promise<CancelResult> {
    return fromStore(this.#node.store.cancel(id, defaultCancelError));
  }

  waitResult(id: string, options?: WaitOptions): Promise<unknown> {
    return this.#node.results.wait(id, options);
  }

  events(options: EventsOptions = {}): AsyncIterableIterator<JobEvent> {
    const { jobId, tree } = options;
    const streams = this.#node.streams;
    const accepts = jobId === undefined ? () => true : tree ? (e: JobEvent) => e.id === jobId || e.rootId === jobId : (e: JobEvent) => e.id === jobId;
    const stream = new EventStream(options.bufferSize ?? 10_000, accepts, (s) => streams.delete(s), jobId);
    streams.add(stream);
    // Where the job is now, so that a reconciliation fills in only what the stream missed.
    if (jobId !== undefined) {
      this.#node.store.events(jobId, 0).then(
        (past) => stream.startAt(past.length > 0 ? past[past.length - 1]!.seq : 0),
        () => stream.startAt(0),
      );
    }
    return stream;
  }

  schedule<J extends Jobs[number]>(key: string, job: J, input: JobInput<J>, every: ScheduleEvery, options?: ScheduleOptions): Promise<ScheduleInfo> {
    return this.#schedules.schedule(key, job, input, every, options);
  }

  scheduleByName(key: string, name: string, input: unknown, every: ScheduleEvery, options?: ScheduleOptions): Promise<ScheduleInfo> {
    return this.#schedules.schedule(key, name, input, every, options);
  }

  schedules(): Promise<ScheduleInfo[]> {
    return this.#schedules.schedules();
  }

  unschedule(key: string): Promise<boolean> {
    return this.#schedules.unschedule(key);
  }

  pause(name: string): Promise<void> {
    return this.#schedules.pause(name);
  }

  resume(name: string): Promise<void> {
    return this.#schedules.resume(name);
  }

  paused(): Promise<string[]> {
    return this.#schedules.paused();
  }

  flow(options?: FlowViewOptions): Promise<JobTypeFlow[]> {
    return readFlow(this.#node, options);
  }

  async stats(): Promise<JobSystemStats> {
    const node = this.#node;
    const counts = await fromStore(node.store.counts());
    node.state.flush();
    const live = node.state.store.getSnapshot().context;
    const dispatcher = node.supervisor?.getSnapshot().context.dispatcher.getSnapshot().context.state;
    return {
      health: live.health,
      queued: counts.queued,
      delayed: counts.delayed,
      running: counts.running,
      waitingChildren: counts.waitingChildren,
      workers: live.workers,
      idleWorkers: dispatcher?.idle.length ?? 0,
      waitingParents: live.waitingParents,
      actors: live.actors,
      ...live.counters,
      rates: node.state.currentRates(),
    };
  }
}
