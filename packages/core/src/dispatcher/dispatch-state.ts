import type { AnyActorRef } from 'xstate';
import type { Clock, TimerHandle } from '../clock.js';
import type { ClaimedJob, ClaimResult } from '../store/job-store.js';

export interface DispatcherRuntime {
  /** Claims up to `max` ready jobs; `capacity` caps job names that have a concurrency limit. */
  claim(max: number, capacity: ReadonlyMap<string, number> | undefined): Promise<ClaimResult>;
  /**
   * The same without a round trip, for a store that holds its jobs in this process. Routing a
   * job then takes one message less: the claim happens inside the step that learnt of the work.
   */
  claimNow: ((max: number, capacity: ReadonlyMap<string, number> | undefined) => ClaimResult) | undefined;
  /** A claim failed (the store is unreachable): the runtime logs it and may mark itself unhealthy. */
  claimFailed(error: unknown): void;
  clock: Clock;
  /** Job names with a per-node concurrency limit. */
  limits: ReadonlyMap<string, number>;
  /** Retry an unreachable store after this long. */
  retryMs: number;
  /**
   * With idle workers and nothing to claim, look again after this long even without a signal:
   * leases of dead owners run out silently, and a signal can be lost on a remote store.
   */
  pollMs: number;
  /**
   * An idle worker is told to rest only after this long without work. Under a steady stream it
   * gets its next job first and stays `engaged`, which saves two state transitions per job.
   */
  restMs: number;
}

/**
 * The dispatcher's working set. It lives in context as one mutable object on purpose: an event
 * per job passes through here, and copying a set of idle workers and a map of counters on every
 * event would cost more than the routing itself. Only this machine's actions touch it.
 */
export interface DispatchState {
  /**
   * Workers that reported idle and hold no job. A stack: the most recently idle worker gets the
   * next job, so under light load a few workers stay warm and the rest go to rest.
   */
  idle: AnyActorRef[];
  /** When each worker in `idle` (same index) reported idle: only those idle for `restMs` rest. */
  idleSince: number[];
  /** Idle workers already told to rest. */
  rested: Set<AnyActorRef>;
  /** Claimed jobs not yet handed to a worker (only when a worker was removed mid-claim). */
  backlog: ClaimedJob[];
  /**
   * Claims in flight and how many jobs they asked for. Two may overlap on a remote store, so
   * workers that free up during one round trip are not left waiting for it to return.
   */
  claiming: number;
  reserved: number;
  /** Work may be waiting in the store: claim when a worker is free. */
  more: boolean;
  running: Map<string, number>;
  wake: { at: number; timer: TimerHandle } | undefined;
  restTimer: TimerHandle | undefined;
  assigned: number;
}

export interface DispatcherContext {
  runtime: DispatcherRuntime;
  state: DispatchState;
}

/** The working set of a dispatcher that has just started: no workers yet, and work assumed to be waiting. */
export function newDispatchState(): DispatchState {
  return {
    idle: [],
    idleSince: [],
    rested: new Set(),
    backlog: [],
    claiming: 0,
    reserved: 0,
    more: true,
    running: new Map(),
    wake: undefined,
    restTimer: undefined,
    assigned: 0,
  };
}
