import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, type AnyActorRef, type AnyStateMachine, type InspectionEvent } from 'xstate';
import { withHotTransition } from '../src/machines/with-hot-transition.js';
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
      if (e.type === '@xstate.event' || e.type === '@xstate.action') inspected.push(e.type === '@xstate.event' ? e.event.type : e.action.type);
    },
  });
  actor.subscribe({ error: () => undefined });
  actor.start();
  const seen: unknown[] = [];
  for (const step of steps) {
    if (actor.getSnapshot().status !== 'active') break;
    actor.send(step.type === 'job.assigned' ? { type: 'job.assigned', job: { id: step.id, name: 'noop' } as ClaimedJob } : step.type === 'worker.fault' ? { type: 'worker.fault', error: new Error('boom') } : step);
    const s = actor.getSnapshot();
    seen.push({ status: s.status, value: s.value, activity: { ...s.context.activity }, error: (s.error as Error | undefined)?.message });
  }
  return { calls, inspected, seen };
}

describe('withHotTransition', () => {
  it('leaves the worker indistinguishable from its machine for any sequence of messages', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        expect(trace(workerLogic, steps)).toEqual(trace(workerMachine, steps));
      }),
      { numRuns: 300 },
    );
  });

  it('is the same machine to everything that reads its definition (the inspector draws it)', () => {
    expect(workerLogic.id).toBe(workerMachine.id);
    expect(workerLogic.root).toBe(workerMachine.root);
    expect(JSON.stringify(workerLogic.toJSON())).toBe(JSON.stringify(workerMachine.toJSON()));
  });

  it('refuses a transition the interpreter would have to compute', () => {
    const base = setup({
      types: { context: {} as { n: number }, events: {} as { type: 'go' } },
      actions: { bump: assign({ n: ({ context }) => context.n + 1 }), note: () => undefined },
      guards: { ok: () => true },
    });
    const withTarget = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { on: { go: { target: 'b', actions: 'note' } } }, b: {} } });
    const guarded = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { on: { go: { guard: 'ok', actions: 'note' } } } } });
    const builtin = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { on: { go: { actions: 'bump' } } } } });
    const eventless = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { always: { guard: 'ok', actions: 'note' }, on: { go: { actions: 'note' } } } } });
    const compound = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { initial: 'x', states: { x: {} }, on: { go: { actions: 'note' } } } } });
    const inline = base.createMachine({ context: { n: 0 }, initial: 'a', states: { a: { on: { go: { actions: () => undefined } } } } });
    for (const machine of [withTarget, guarded, builtin, eventless, compound, inline]) {
      expect(() => withHotTransition(machine, { state: 'a', event: 'go' })).toThrow(TypeError);
    }
    expect(() => withHotTransition(withTarget, { state: 'nope', event: 'go' })).toThrow(/no such top-level state/);
  });
});
