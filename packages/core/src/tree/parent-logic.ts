import { assertEvent, setup, type ActorRefFrom } from 'xstate';
import type { SettledJobEvent } from '../events.js';
import type { ChildWaiter, ParentMessage } from '../messages.js';

export interface ParentHooks {
  /** The parent started or stopped waiting for children: it gives back or may reuse its worker slot. */
  waiting(isWaiting: boolean): void;
  /** Too many children settled before their spawn was registered. */
  maxEarly: number;
}

export interface ParentInput {
  jobId: string;
  hooks: ParentHooks;
}

/**
 * Mutable on purpose, like the dispatcher's: a 10,000-child fan-in sends 20,000 messages here
 * and copying a map of 10,000 waiters on each would make the fan-in quadratic.
 */
export interface ParentState {
  waiters: Map<string, ChildWaiter>;
  /** Settlements of children whose spawn is still being registered (the store can be faster). */
  early: Map<string, SettledJobEvent>;
  settled: number;
}

export interface ParentContext {
  jobId: string;
  hooks: ParentHooks;
  state: ParentState;
}

export type ParentEvent = ParentMessage;

/**
 * The actor of a parent job while it has children: it holds a waiter per spawned child and
 * settles each when that child's `child.settled` arrives. `waitingChildren` is the state in which
 * the parent holds no worker; it leaves it as soon as nothing is pending.
 */
export const parentLogic = setup({
  types: {
    context: {} as ParentContext,
    events: {} as ParentEvent,
    input: {} as ParentInput,
  },
  guards: {
    nothingPending: ({ context }) => context.state.waiters.size === 0,
  },
  actions: {
    register: ({ context, event }) => {
      assertEvent(event, 'child.spawned');
      const { state } = context;
      const early = state.early.get(event.id);
      if (early) {
        state.early.delete(event.id);
        state.settled++;
        event.waiter.settle(early);
      } else {
        state.waiters.set(event.id, event.waiter);
      }
    },
    settle: ({ context, event }) => {
      assertEvent(event, 'child.settled');
      const { state } = context;
      const waiter = state.waiters.get(event.event.id);
      if (waiter) {
        state.waiters.delete(event.event.id);
        state.settled++;
        waiter.settle(event.event);
      } else if (state.early.size < context.hooks.maxEarly) {
        state.early.set(event.event.id, event.event);
      }
    },
    startWaiting: ({ context }) => context.hooks.waiting(true),
    stopWaiting: ({ context }) => context.hooks.waiting(false),
  },
}).createMachine({
  id: 'parent',
  context: ({ input }) => ({ jobId: input.jobId, hooks: input.hooks, state: { waiters: new Map(), early: new Map(), settled: 0 } }),
  initial: 'running',
  states: {
    running: {
      on: {
        'child.spawned': [
          { guard: ({ event, context }) => context.state.early.has(event.id), actions: 'register' },
          { target: 'waitingChildren', actions: 'register' },
        ],
        'child.settled': { actions: 'settle' },
      },
    },
    waitingChildren: {
      entry: 'startWaiting',
      always: { guard: 'nothingPending', target: 'running', actions: 'stopWaiting' },
      on: {
        'child.spawned': { actions: 'register' },
        'child.settled': { actions: 'settle' },
      },
    },
    done: { type: 'final' },
  },
  on: {
    'parent.finished': { target: '.done' },
  },
});

export type ParentActorRef = ActorRefFrom<typeof parentLogic>;
