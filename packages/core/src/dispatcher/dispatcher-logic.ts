import { assertEvent, setup, type ActorRefFrom } from 'xstate';
import { withHotTransitions } from '../machines/with-hot-transitions.js';
import type { DispatcherMessage } from '../messages.js';
import { newDispatchState, type DispatcherContext, type DispatcherRuntime } from './dispatch-state.js';
import { accept, deliver, pump, release } from './dispatch-steps.js';
import { rest, scheduleRest, scheduleWake } from './dispatch-timers.js';

export interface DispatcherInput {
  runtime: DispatcherRuntime;
}

export type DispatcherEvent = DispatcherMessage;

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
  context: ({ input }) => ({ runtime: input.runtime, state: newDispatchState() }),
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
