import type { AnyActorRef } from 'xstate';
import type { SettledJobEvent } from './events.js';
import type { ClaimedJob, ClaimResult } from './store/job-store.js';

/**
 * Messages between the runtime's actors: facts in the past tense (`worker.idle`, `jobs.claimed`),
 * commands in the imperative (`worker.rest`, `dispatcher.pause`). Built only through the creator
 * functions below so no string literal is written twice.
 */

/** A worker that finished (or handed off) its job; `released` names the job whose concurrency slot frees. */
export interface IdleReport {
  worker: AnyActorRef;
  released: string | undefined;
}

export type DispatcherMessage =
  | { type: 'workers.idle'; reports: IdleReport[] }
  | { type: 'worker.removed'; worker: AnyActorRef }
  | { type: 'work.available' }
  | { type: 'jobs.claimed'; result: ClaimResult; asked: number }
  | { type: 'claim.failed'; error: unknown; asked: number }
  | { type: 'workers.rest' }
  | { type: 'dispatcher.pause' }
  | { type: 'dispatcher.resume' };

export type WorkerMessage =
  { type: 'job.assigned'; job: ClaimedJob } | { type: 'worker.rest' } | { type: 'worker.fault'; error: unknown } | { type: 'worker.stop' };

/** How a spawned child's settlement reaches the code awaiting it. */
export interface ChildWaiter {
  settle(event: SettledJobEvent): void;
}

export type ParentMessage =
  { type: 'child.spawned'; id: string; waiter: ChildWaiter } | { type: 'child.settled'; event: SettledJobEvent } | { type: 'parent.finished' };

export const msg = {
  workersIdle: (reports: IdleReport[]): DispatcherMessage => ({ type: 'workers.idle', reports }),
  workerRemoved: (worker: AnyActorRef): DispatcherMessage => ({ type: 'worker.removed', worker }),
  workAvailable: (): DispatcherMessage => ({ type: 'work.available' }),
  jobsClaimed: (result: ClaimResult, asked: number): DispatcherMessage => ({ type: 'jobs.claimed', result, asked }),
  claimFailed: (error: unknown, asked: number): DispatcherMessage => ({ type: 'claim.failed', error, asked }),
  workersRest: (): DispatcherMessage => ({ type: 'workers.rest' }),
  dispatcherPause: (): DispatcherMessage => ({ type: 'dispatcher.pause' }),
  dispatcherResume: (): DispatcherMessage => ({ type: 'dispatcher.resume' }),
  jobAssigned: (job: ClaimedJob): WorkerMessage => ({ type: 'job.assigned', job }),
  workerRest: (): WorkerMessage => ({ type: 'worker.rest' }),
  workerFault: (error: unknown): WorkerMessage => ({ type: 'worker.fault', error }),
  workerStop: (): WorkerMessage => ({ type: 'worker.stop' }),
  childSpawned: (id: string, waiter: ChildWaiter): ParentMessage => ({ type: 'child.spawned', id, waiter }),
  childSettled: (event: SettledJobEvent): ParentMessage => ({ type: 'child.settled', event }),
  parentFinished: (): ParentMessage => ({ type: 'parent.finished' }),
};
