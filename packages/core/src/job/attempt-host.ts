import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import type { Clock } from '../clock.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Instrumentation } from '../instrumentation.js';
import type { ThreadRun } from '../isolation/thread-pool.js';
import type { Logger } from '../logger.js';
import type { ClaimedJob, EnqueueOutcome, JobStore, LeaseRef, NewJob, Settlement } from '../store/job-store.js';
import type { AnyJobDefinition } from './define-job.js';
import type { JobAttempt } from './job-attempt.js';

/** What an attempt needs from the system that runs it (implemented by the system's runtime). */
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
  waitingParents: number;
  random(): number;
  newId(): string;
  validate(definition: AnyJobDefinition, input: unknown): unknown;
  enqueue(job: NewJob): Promise<EnqueueOutcome>;
  progress(lease: LeaseRef, value: unknown): void;
  setWaiting(lease: LeaseRef, waiting: boolean): void;
  releaseWorker(worker: AnyActorRef, jobName: string): void;
  /** The attempt is over; `settlement` is undefined when it lost its lease (nothing to record). */
  attemptFinished(attempt: JobAttempt, settlement: Settlement | undefined): void;
  /** Runs a thread job's module in the system's thread pool (created on first use). */
  runInThread(run: ThreadRun): Promise<unknown>;
  actorStarted(): void;
  actorStopped(): void;
}

export type { ClaimedJob };
