import { assertEvent, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { Clock, TimerHandle } from '../clock.js';
import { withHotTransitions } from '../machines/with-hot-transitions.js';
import { msg, type DispatcherMessage } from '../messages.js';
import type { ClaimedJob, ClaimResult } from '../store/job-store.js';
import { isActive } from '../machines/is-active.js';

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

export interface DispatcherInput {
  runtime: DispatcherRuntime;
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

export type DispatcherEvent = DispatcherMessage;

const MAX_CLAIMS_IN_FLIGHT = 2;

/**
 * Routes jobs to workers that said they are idle — pull, never push into a busy worker. It claims
 * from the store only as many jobs as it has idle workers, so a node never hoards work another
 * node could run, and a full queue stays in the store where its bound is enforced.
 */
export const dispatcherMachine = setup({
  types: {
    context: {} as DispatcherContext,
    events: {} as DispatcherEvent,
    input: {} as DispatcherInput,
  },
  actions: {
    acceptIdle: ({ context, event }) => {
      assertEvent(event, 'workers.idle');
      const { state, runtime } = context;
      const now = runtime.clock.now();
      for (const report of event.reports) {
        if (report.released !== undefined && state.running.has(report.released)) {
          release(state, report.released);
          // A freed slot of a limited job type may unblock jobs an earlier claim had to skip.
          state.more = true;
        }
        if (!state.idle.includes(report.worker)) {
          state.idle.push(report.worker);
          state.idleSince.push(now);
        }
        // A report without a job is a worker that just started: it is already in `idle`.
        if (report.released === undefined) state.rested.add(report.worker);
      }
    },
    removeWorker: ({ context, event }) => {
      assertEvent(event, 'worker.removed');
      const { state } = context;
      const at = state.idle.indexOf(event.worker);
      if (at >= 0) {
        state.idle.splice(at, 1);
        state.idleSince.splice(at, 1);
      }
      state.rested.delete(event.worker);
    },
    acceptClaimed: ({ context, event, self }) => {
      assertEvent(event, 'jobs.claimed');
      context.state.claiming--;
      context.state.reserved -= event.asked;
      accept(context, event.result, self);
    },
    claimFailed: ({ context, event, self }) => {
      assertEvent(event, 'claim.failed');
      const { state, runtime } = context;
      state.claiming--;
      state.reserved -= event.asked;
      runtime.claimFailed(event.error);
      scheduleWake(context, runtime.clock.now() + runtime.retryMs, self);
    },
    noteWork: ({ context }) => {
      context.state.more = true;
    },
    deliver: ({ context }) => deliver(context.state),
    pump: ({ context, self }) => pump(context, self),
    restIdle: ({ context }) => rest(context.state, Infinity),
    restLongIdle: ({ context, self }) => {
      const { state, runtime } = context;
      rest(state, runtime.clock.now() - runtime.restMs);
      scheduleRest(context, self);
    },
  },
}).createMachine({
  id: 'dispatcher',
  context: ({ input }) => ({
    runtime: input.runtime,
    state: {
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
    },
  }),
  initial: 'dispatching',
  states: {
    dispatching: {
      entry: 'pump',
      on: {
        'workers.idle': { actions: ['acceptIdle', 'deliver', 'pump'] },
        'work.available': { actions: ['noteWork', 'pump'] },
        'jobs.claimed': { actions: ['acceptClaimed', 'deliver', 'pump'] },
        'claim.failed': { actions: 'claimFailed' },
        'workers.rest': { actions: 'restLongIdle' },
        'dispatcher.pause': { target: 'paused' },
      },
    },
    paused: {
      entry: 'restIdle',
      on: {
        'workers.idle': { actions: ['acceptIdle', 'restIdle'] },
        'work.available': { actions: 'noteWork' },
        'jobs.claimed': { actions: ['acceptClaimed', 'deliver', 'restIdle'] },
        'claim.failed': { actions: 'claimFailed' },
        'workers.rest': { actions: 'restIdle' },
        'dispatcher.resume': { target: 'dispatching' },
      },
    },
  },
  on: {
    'worker.removed': { actions: 'removeWorker' },
  },
});

/**
 * The dispatcher the supervisor spawns: `dispatcherMachine` with the events of a busy system
 * (idle reports, wake-ups, claim results while `dispatching`) answered without the interpreter.
 * Each is a batch, so this matters less than for the worker, but HTTP intake wakes the
 * dispatcher every event-loop turn. See `withHotTransitions`.
 */
export const dispatcherLogic = withHotTransitions(
  dispatcherMachine,
  { state: 'dispatching', event: 'workers.idle' },
  { state: 'dispatching', event: 'work.available' },
  { state: 'dispatching', event: 'jobs.claimed' },
);

export type DispatcherActorRef = ActorRefFrom<typeof dispatcherLogic>;

function release(state: DispatchState, name: string): void {
  const n = state.running.get(name);
  if (n !== undefined) state.running.set(name, n - 1);
}

function accept(context: DispatcherContext, result: ClaimResult, self: AnyActorRef): void {
  const { state, runtime } = context;
  for (const job of result.jobs) state.backlog.push(job);
  const poll = result.jobs.length === 0 ? runtime.clock.now() + runtime.pollMs : undefined;
  scheduleWake(context, minDefined(result.nextRunAt, poll), self);
}

/** Hands backlog jobs to idle workers, the most recently idle first. */
function deliver(state: DispatchState): void {
  while (state.backlog.length > 0 && state.idle.length > 0) {
    const worker = state.idle.pop()!;
    state.idleSince.pop();
    state.rested.delete(worker);
    const job = state.backlog.shift()!;
    if (state.running.has(job.name)) state.running.set(job.name, state.running.get(job.name)! + 1);
    state.assigned++;
    worker.send(msg.jobAssigned(job));
  }
}

function pump(context: DispatcherContext, self: AnyActorRef): void {
  const { state, runtime } = context;
  while (state.claiming < MAX_CLAIMS_IN_FLIGHT) {
    const want = state.idle.length - state.backlog.length - state.reserved;
    if (want <= 0 || !state.more) break;
    const capacity = capacities(state, runtime);
    state.more = false;
    if (runtime.claimNow) {
      let result: ClaimResult;
      try {
        result = runtime.claimNow(want, capacity);
      } catch (error) {
        runtime.claimFailed(error);
        scheduleWake(context, runtime.clock.now() + runtime.retryMs, self);
        break;
      }
      if (result.jobs.length >= want) state.more = true;
      accept(context, result, self);
      deliver(state);
      continue;
    }
    // A per-name capacity cannot be shared between two claims in flight without over-claiming.
    if (capacity && state.claiming > 0) {
      state.more = true;
      break;
    }
    state.claiming++;
    state.reserved += want;
    runtime.claim(want, capacity).then(
      (result) => {
        // A claim that filled every worker it asked for may have left more behind: look again.
        if (result.jobs.length >= want) state.more = true;
        self.send(msg.jobsClaimed(result, want));
      },
      (error: unknown) => self.send(msg.claimFailed(error, want)),
    );
  }
  if (state.claiming === 0 && state.idle.length > state.rested.size) scheduleRest(context, self);
}

function capacities(state: DispatchState, runtime: DispatcherRuntime): Map<string, number> | undefined {
  if (runtime.limits.size === 0) return undefined;
  const capacity = new Map<string, number>();
  for (const [name, limit] of runtime.limits) {
    if (!state.running.has(name)) state.running.set(name, 0);
    capacity.set(name, limit - state.running.get(name)!);
  }
  return capacity;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * Workers idle since `before` or earlier go to `resting` (they stay in the idle stack, ready for the
 * next job). Only those: resting every idle worker each `restMs` made the few that a steady stream
 * keeps busy go to `resting` and back to `engaged` over and over — two full transitions per worker
 * every 25 ms, a tenth of all jobs in the HTTP intake benchmark.
 */
function rest(state: DispatchState, before: number): void {
  // The stack's bottom has waited longest.
  for (let i = 0; i < state.idle.length && state.idleSince[i]! <= before; i++) {
    const worker = state.idle[i]!;
    if (state.rested.has(worker)) continue;
    state.rested.add(worker);
    worker.send(msg.workerRest());
  }
}

/** Wakes the dispatcher when the longest-idle worker not yet rested has been idle for `restMs`. */
function scheduleRest(context: DispatcherContext, self: AnyActorRef): void {
  const { state, runtime } = context;
  if (state.restTimer !== undefined) return;
  let oldest: number | undefined;
  for (let i = 0; i < state.idle.length; i++) {
    if (!state.rested.has(state.idle[i]!)) {
      oldest = state.idleSince[i]!;
      break;
    }
  }
  if (oldest === undefined) return;
  state.restTimer = runtime.clock.setTimeout(
    () => {
      state.restTimer = undefined;
      // A timer can outlive the dispatcher (the system stopped meanwhile): nobody to tell then.
      if (isActive(self)) self.send(msg.workersRest());
    },
    Math.max(0, oldest + runtime.restMs - runtime.clock.now()),
  );
}

function scheduleWake(context: DispatcherContext, at: number | undefined, self: AnyActorRef): void {
  const { state, runtime } = context;
  const clock: Clock = runtime.clock;
  if (at === undefined) return;
  if (state.wake && state.wake.at <= at) return;
  if (state.wake) clock.clearTimeout(state.wake.timer);
  const timer = clock.setTimeout(
    () => {
      state.wake = undefined;
      if (isActive(self)) self.send(msg.workAvailable());
    },
    Math.max(0, at - clock.now()),
  );
  state.wake = { at, timer };
}
