import type { AnyActorRef } from 'xstate';
import { msg } from '../messages.js';
import type { ClaimResult } from '../store/job-store.js';
import type { DispatcherContext, DispatcherRuntime, DispatchState } from './dispatch-state.js';
import { scheduleRest, scheduleWake } from './dispatch-timers.js';

// The dispatcher's steps on its working set: claim as many jobs as there are idle workers, take
// in what a claim brought, hand it to the most recently idle workers.

const MAX_CLAIMS_IN_FLIGHT = 2;

export function release(state: DispatchState, name: string): void {
  const n = state.running.get(name);
  if (n !== undefined) state.running.set(name, n - 1);
}

export function accept(context: DispatcherContext, result: ClaimResult, self: AnyActorRef): void {
  const { state, runtime } = context;
  for (const job of result.jobs) state.backlog.push(job);
  const poll = result.jobs.length === 0 ? runtime.clock.now() + runtime.pollMs : undefined;
  scheduleWake(context, minDefined(result.nextRunAt, poll), self);
}

/** Hands backlog jobs to idle workers, the most recently idle first. */
export function deliver(state: DispatchState): void {
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

/** Claims for the idle workers not yet covered by the backlog or a claim in flight (at most two at once). */
export function pump(context: DispatcherContext, self: AnyActorRef): void {
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
