import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import type { Clock } from '../clock.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Instrumentation } from '../instrumentation.js';
import type { ThreadRun } from '../isolation/thread-pool.js';
import type { Logger } from '../logger.js';
import type { EnqueueOutcome, JobPlacement, JobStore, LeaseRef, NewJob, Settlement } from '../store/job-store.js';
import type { AnyJobDefinition } from './define-job.js';
import type { JobAttempt } from './job-attempt.js';
import type { JobContext } from './job-context.js';

/** What an attempt needs from the node that runs it (implemented by `NodeRuntime`). */
export interface AttemptHost {
  readonly clock: Clock;
  readonly store: JobStore;
  readonly logger: Logger;
  readonly jobs: ReadonlyMap<string, AnyJobDefinition>;
  readonly inspectOption: { inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) };
  readonly instrumentation: Instrumentation | undefined;
  readonly blobs: BlobStore | undefined;
  readonly maxChildren: number;
  readonly maxWaitingParents: number;
  /** Takes one of the node's waiting-parent slots; `false` when all are taken. */
  reserveWaitingParent(): boolean;
  releaseWaitingParent(): void;
  random(): number;
  /** An id for a new job (the store's placement, for a sharded store). */
  newId(placement: JobPlacement): string;
  validate(definition: AnyJobDefinition, input: unknown): unknown;
  /** Enqueues a spawned child, batched with others of the same tick. */
  enqueue(job: NewJob): Promise<EnqueueOutcome>;
  progress(lease: LeaseRef, value: unknown): void;
  setWaiting(lease: LeaseRef, waiting: boolean): void;
  /** The attempt gave its worker slot back while it keeps running (a parent waiting for children). */
  releaseWorker(worker: AnyActorRef, jobName: string): void;
  /**
   * The attempt is over. `settlement` is undefined when it lost its lease (nothing to record);
   * `worker` is the slot it still held, now free (undefined if it had given it back or lost it).
   */
  attemptFinished(attempt: JobAttempt, settlement: Settlement | undefined, worker: AnyActorRef | undefined): void;
  /** Runs a thread job's module in the system's thread pool (created on first use). */
  runInThread(run: ThreadRun): Promise<unknown>;
  /** A batch job's attempt joins this node's forming batch of its name; settles with its own entry. */
  joinBatch(attempt: JobAttempt, ctx: JobContext): Promise<unknown>;
  actorStarted(): void;
  actorStopped(): void;
}
