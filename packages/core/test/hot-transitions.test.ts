import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, type AnyActorRef, type AnyStateMachine, type InspectionEvent } from 'xstate';
import type { DispatchState } from '../src/dispatcher/dispatch-state.js';
import { dispatcherLogic, dispatcherMachine } from '../src/dispatcher/dispatcher-logic.js';
import { checkedXstateVersion, withHotTransitions } from '../src/machines/with-hot-transitions.js';
import { SimulatedClock } from '../src/testing/simulated-clock.js';
import { workerLogic, workerMachine } from '../src/worker/worker-logic.js';
import type { ClaimedJob } from '../src/store/job-store.js';

type Step = { type: 'job.assigned'; id: string } | { type: 'worker.rest' } | { type: 'worker.fault' } | { type: 'worker.stop' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('job.assigned' as const), id: fc.string({ minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.constant({ type: 'worker.rest' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'worker.fault' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'worker.stop' as const }) },
);

/** Runs the steps through one worker and records everything an observer could see. */
function trace(logic: AnyStateMachine, steps: Step[]) {
  const calls: string[] = [];
  const inspected: string[] = [];
  const runtime = {
    startAttempt: (job: ClaimedJob, worker: AnyActorRef) => calls.push(`start ${job.id} by ${worker.id}`),
    reportIdle: (worker: AnyActorRef, released: string | undefined) => calls.push(`idle ${worker.id} ${released}`),
  };
  const actor = createActor(logic, {
    id: 'w',
    input: { index: 3, runtime },
    inspect: (e: InspectionEvent) => {
      if (e.type === '@xstate.event') inspected.push(`event ${e.event.type}`);
      else if (e.type === '@xstate.action') inspected.push(`action ${e.action.type}`);
      else if (e.type === '@xstate.microstep') inspected.push(`microstep ${e.event.type} ${String(e.snapshot.status)}`);
      else if (e.type === '@xstate.snapshot') inspected.push(`snapshot ${String(e.snapshot.status)}`);
    },
  });
  actor.subscribe({ error: () => undefined });
  actor.start();
  const seen: unknown[] = [];
  for (const step of steps) {
    if (actor.getSnapshot().status !== 'active') break;
    actor.send(
      step.type === 'job.assigned'
        ? { type: 'job.assigned', job: { id: step.id, name: 'noop' } as ClaimedJob }
        : step.type === 'worker.fault'
          ? { type: 'worker.fault', error: new Error('boom') }
          : step,
    );
    const s = actor.getSnapshot();
    seen.push({ status: s.status, value: s.value, activity: { ...s.context.activity }, error: (s.error as Error | undefined)?.message });
  }
  return { calls, inspected, seen };
}

type DispatchStep =
  | { type: 'workers.idle'; workers: number[]; released: boolean }
  | { type: 'work.available'; add: number }
  | { type: 'jobs.claimed'; jobs: number }
  | { type: 'workers.rest' }
  | { type: 'dispatcher.pause' }
  | { type: 'dispatcher.resume' }
  | { type: 'worker.removed'; worker: number }
  | { type: 'tick'; ms: number };

const dispatchStepArb: fc.Arbitrary<DispatchStep> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('workers.idle' as const),
      workers: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }),
      released: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('work.available' as const), add: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('jobs.claimed' as const), jobs: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'workers.rest' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'dispatcher.pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'dispatcher.resume' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('worker.removed' as const), worker: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 60 }) }) },
);

/** The dispatcher over a store of jobs of two names, one of them limited; `work.available` follows new jobs. */
async function traceDispatcher(logic: AnyStateMachine, steps: DispatchStep[]) {
  const clock = new SimulatedClock();
  const sent: string[] = [];
  const workers = Array.from(
    { length: 6 },
    (_, i) =>
      ({ id: `w${i}`, send: (e: { type: string; job?: ClaimedJob }) => sent.push(`w${i} ${e.type} ${e.job?.id ?? ''}`) }) as unknown as AnyActorRef,
  );
  let seq = 0;
  let queued = 2;
  const take = (max: number, capacity: ReadonlyMap<string, number> | undefined) => {
    const jobs: ClaimedJob[] = [];
    let left = capacity?.get('limited') ?? Infinity;
    while (jobs.length < max && queued > 0) {
      const limited = seq % 3 === 0 && left > 0;
      if (limited) left--;
      queued--;
      jobs.push({ id: `j${seq++}`, name: limited ? 'limited' : 'free' } as ClaimedJob);
    }
    sent.push(`claim ${max} -> ${jobs.length}`);
    return { jobs, nextRunAt: undefined };
  };
  const actor = createActor(logic, {
    id: 'dispatcher',
    clock,
    input: {
      runtime: {
        claim: async (max: number, capacity: ReadonlyMap<string, number> | undefined) => take(max, capacity),
        claimNow: (max: number, capacity: ReadonlyMap<string, number> | undefined) => take(max, capacity),
        claimFailed: () => sent.push('claim failed'),
        clock,
        limits: new Map([['limited', 1]]),
        retryMs: 100,
        pollMs: 50,
        restMs: 25,
      },
    },
  });
  actor.start();
  const seen: unknown[] = [];
  for (const step of steps) {
    if (step.type === 'tick') await clock.advance(step.ms);
    else if (step.type === 'workers.idle') {
      actor.send({
        type: 'workers.idle',
        reports: step.workers.map((i) => ({ worker: workers[i]!, released: step.released ? (i % 2 ? 'limited' : 'free') : undefined })),
      });
    } else if (step.type === 'jobs.claimed') {
      actor.send({ type: 'jobs.claimed', result: take(step.jobs, undefined), asked: step.jobs });
    } else if (step.type === 'work.available') {
      queued += step.add;
      actor.send({ type: 'work.available' });
    } else if (step.type === 'worker.removed') actor.send({ type: 'worker.removed', worker: workers[step.worker]! });
    else actor.send(step);
    const snapshot = actor.getSnapshot();
    const state = snapshot.context.state as DispatchState;
    seen.push({
      value: snapshot.value,
      idle: state.idle.map((w) => w.id),
      rested: [...state.rested].map((w) => w.id),
      backlog: state.backlog.map((j) => j.id),
      more: state.more,
      claiming: state.claiming,
      running: [...state.running],
      wakeAt: state.wake?.at,
      assigned: state.assigned,
    });
  }
  actor.stop();
  return { sent, seen };
}

describe('withHotTransitions', () => {
  it('runs on the xstate version whose internals it was checked against', () => {
    const installed = (createRequire(import.meta.url)('xstate/package.json') as { version: string }).version;
    // Not a formality: the file reaches into xstate internals (listed in its header). On another
    // version, check each of them, run this suite, then move `checkedXstateVersion`.
    expect(installed, `withHotTransitions was checked against xstate ${checkedXstateVersion}, not ${installed}`).toBe(checkedXstateVersion);
  });

  it('leaves the dispatcher indistinguishable from its machine for any sequence of messages', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(dispatchStepArb, { maxLength: 40 }), async (steps) => {
        expect(await traceDispatcher(dispatcherLogic, steps)).toEqual(await traceDispatcher(dispatcherMachine, steps));
      }),
      { numRuns: 200 },
    );
  });

  it('leaves the worker indistinguishable from its machine for any sequence of messages', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        expect(trace(workerLogic, steps)).toEqual(trace(workerMachine, steps));
      }),
      { numRuns: 300 },
    );
  });

  it('is the same machine to everything that reads its definition (the inspector draws it)', () => {
    for (const [logic, machine] of [
      [workerLogic, workerMachine],
      [dispatcherLogic, dispatcherMachine],
    ] as const) {
      expect(logic.id).toBe(machine.id);
      expect(logic.root).toBe(machine.root);
      expect(JSON.stringify(logic.toJSON())).toBe(JSON.stringify(machine.toJSON()));
    }
  });

  it('refuses a transition the interpreter would have to compute', () => {
    const base = setup({
      types: { context: {} as { n: number }, events: {} as { type: 'go' } },
      actions: { bump: assign({ n: ({ context }) => context.n + 1 }), note: () => undefined },
      guards: { ok: () => true },
    });
    const withTarget = base.createMachine({
      context: { n: 0 },
      initial: 'a',
      states: { a: { on: { go: { target: 'b', actions: 'note' } } }, b: {} },
    });
    const guarded = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { on: { go: { guard: 'ok', actions: 'note' } } } } });
    const builtin = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { on: { go: { actions: 'bump' } } } } });
    const eventless = base.createMachine({
      context: { n: 0 },
      initial: 'a',
      states: { a: { always: { guard: 'ok', actions: 'note' }, on: { go: { actions: 'note' } } } },
    });
    const compound = base.createMachine({
      context: { n: 0 },
      initial: 'a',
      states: { a: { initial: 'x', states: { x: {} }, on: { go: { actions: 'note' } } } },
    });
    const inline = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { on: { go: { actions: () => undefined } } } } });
    for (const machine of [withTarget, guarded, builtin, eventless, compound, inline]) {
      expect(() => withHotTransitions(machine, { state: 'a', event: 'go' })).toThrow(TypeError);
    }
    expect(() => withHotTransitions(withTarget, { state: 'nope', event: 'go' })).toThrow(/no such top-level state/);
  });
});
