import type { AnyActorRef } from 'xstate';
import type { Clock } from '../clock.js';
import { isActive } from '../machines/is-active.js';
import { msg } from '../messages.js';
import type { DispatcherContext, DispatchState } from './dispatch-state.js';

// The dispatcher's two timers, both on the injected clock: rest for workers idle `restMs`, and a
// wake-up for the next delayed job or the next poll of the store.

/**
 * Workers idle since `before` or earlier go to `resting` (they stay in the idle stack, ready for the
 * next job). Only those: resting every idle worker each `restMs` made the few that a steady stream
 * keeps busy go to `resting` and back to `engaged` over and over — two full transitions per worker
 * every 25 ms, a tenth of all jobs in the HTTP intake benchmark.
 */
export function rest(state: DispatchState, before: number): void {
  // The stack's bottom has waited longest.
  for (let i = 0; i < state.idle.length && state.idleSince[i]! <= before; i++) {
    const worker = state.idle[i]!;
    if (state.rested.has(worker)) continue;
    state.rested.add(worker);
    worker.send(msg.workerRest());
  }
}

/** Wakes the dispatcher when the longest-idle worker not yet rested has been idle for `restMs`. */
export function scheduleRest(context: DispatcherContext, self: AnyActorRef): void {
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

/** Wakes the dispatcher at `at` (keeps an earlier wake-up already set). */
export function scheduleWake(context: DispatcherContext, at: number | undefined, self: AnyActorRef): void {
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
