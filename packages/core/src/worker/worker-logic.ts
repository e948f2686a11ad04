import { assertEvent, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import { withHotTransitions } from '../machines/with-hot-transitions.js';
import type { WorkerMessage } from '../messages.js';
import type { ClaimedJob } from '../store/job-store.js';

/** What a worker needs from the system it belongs to. */
export interface WorkerRuntime {
  /** Runs one attempt; the runtime reports the worker idle when the attempt ends or hands off. */
  startAttempt(job: ClaimedJob, worker: AnyActorRef): void;
  /** Tells the dispatcher this worker can take a job (coalesced per tick into one message). */
  reportIdle(worker: AnyActorRef, released: string | undefined): void;
}

export interface WorkerInput {
  index: number;
  runtime: WorkerRuntime;
}

/**
 * What a worker is doing, for the inspector and the dashboard. One mutable object on purpose, as
 * in the dispatcher: `job.assigned` arrives once per job, and an `assign` that copies the context
 * on every one cost about 1 µs a job (40% of the worker's step). Only this machine's actions write
 * it; a snapshot read later shows the worker as it is then, not as it was when emitted.
 */
export interface WorkerActivity {
  /** The job this worker runs now. */
  job: { id: string; name: string } | undefined;
  jobsRun: number;
}

export interface WorkerContext {
  index: number;
  runtime: WorkerRuntime;
  activity: WorkerActivity;
}

export type WorkerEvent = WorkerMessage;

/** Thrown inside a worker to crash it; the supervisor restarts it one-for-one. */
export class WorkerCrash extends Error {
  constructor(cause: unknown) {
    super('worker crashed', { cause });
    this.name = 'WorkerCrash';
  }
}

/**
 * A worker runs one job at a time: `resting -> engaged -> resting`. It never asks for work while
 * busy: when its attempt ends it reports idle, and the dispatcher either assigns the next job or,
 * after `restMs` without one, tells it to rest.
 *
 * `engaged` is not "running a job": it is "given work since it last rested" — running a job, or
 * between two jobs for less than `restMs`. A busy worker takes its next job without leaving
 * `engaged` (one transition less per job); whether it holds a job now is the dispatcher's to say
 * (its idle set; `actorsView` shows it) and `activity.job` records the last one.
 */
export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    input: {} as WorkerInput,
  },
  actions: {
    startAttempt: ({ context, event, self }) => {
      assertEvent(event, 'job.assigned');
      const { activity } = context;
      // A copy of the two fields, not the claimed job: that holds the input, which the worker
      // would otherwise keep alive after the job until its next one.
      activity.job = { id: event.job.id, name: event.job.name };
      activity.jobsRun++;
      context.runtime.startAttempt(event.job, self);
    },
    reportReady: ({ context, self }) => {
      context.runtime.reportIdle(self, undefined);
    },
    clearJob: ({ context }) => {
      context.activity.job = undefined;
    },
    crash: ({ event }) => {
      assertEvent(event, 'worker.fault');
      // Errors leave an actor as `xstate.error.actor.<id>` to its parent: the supervisor.
      throw new WorkerCrash(event.error);
    },
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ index: input.index, runtime: input.runtime, activity: { job: undefined, jobsRun: 0 } }),
  entry: 'reportReady',
  initial: 'resting',
  states: {
    resting: {
      on: { 'job.assigned': { target: 'engaged', actions: 'startAttempt' } },
    },
    engaged: {
      on: {
        'job.assigned': { actions: 'startAttempt' },
        'worker.rest': { target: 'resting', actions: 'clearJob' },
      },
    },
    stopped: { type: 'final' },
  },
  on: {
    'worker.fault': { actions: 'crash' },
    'worker.stop': { target: '.stopped', actions: 'clearJob' },
  },
});

/**
 * The worker the supervisor spawns: `workerMachine`, with the one transition every job takes
 * (`job.assigned` while `engaged`) answered without the interpreter. See `withHotTransitions`.
 */
export const workerLogic = withHotTransitions(workerMachine, { state: 'engaged', event: 'job.assigned' });

export type WorkerActorRef = ActorRefFrom<typeof workerLogic>;
