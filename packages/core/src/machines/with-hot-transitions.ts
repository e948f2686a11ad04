import type { AnyActorScope, AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';

/**
 * What this file relies on beyond xstate's documented API — each checked against this version
 * of xstate, and `test/hot-transitions.test.ts` fails on any other until they are checked again:
 *
 * - `machine.transition(snapshot, event, scope)` as the one entry point the actor calls for an
 *   event (`Actor#_process`), so replacing it on a derived logic object takes every event;
 * - `Object.create(machine)` inheriting everything else (`root`, `id`, `toJSON`, `start`,
 *   `getInitialSnapshot`, `implementations`). A `.provide()` on the result returns a plain
 *   machine: the fast path is lost, never the behaviour;
 * - `scope.actionExecutor({ type, info, params, exec })`, the executor the interpreter hands
 *   custom actions to (deferred or immediate, as the actor decides);
 * - `scope.system._sendInspectionEvent` (internal) to report the `@xstate.microstep` the
 *   interpreter would have reported, with `_transitions`;
 * - `machine.root.states[key]` (`.states`, `.always`, `.on[event]` as arrays of transition
 *   definitions with `target`, `reenter`, `guard`, `actions`) to check a transition at load;
 * - built-in actions being functions that carry a `resolve` property (`'resolve' in impl`),
 *   which is how a named built-in is told from a named custom action.
 */
export const checkedXstateVersion = '5.33.3';

/** A transition to take without the interpreter: `event` while the machine is in `state`. */
export interface HotTransition {
  /** A top-level atomic state, as the snapshot's `value` names it. */
  state: string;
  event: string;
}

type ActionImpl = (args: { context: unknown; event: EventObject; self: unknown; system: unknown }, params: unknown) => void;

/**
 * The machine as written, with its hot transitions taken without xstate's interpreter.
 *
 * Why: a worker receives one `job.assigned` per job, and on a busy system it is in `running`
 * already, so that event is a self-transition that only runs an action. xstate computes it like
 * any other microstep — transition selection, entry and exit sets, a search for eventless
 * transitions — which cost about 1.6 µs and 4.5 KB of garbage per job, the largest share of
 * in-process dispatch (`bench/dispatch.ts`). Nothing in that work can change the outcome of a
 * targetless, unguarded transition of an atomic state, so this answers it directly: the same
 * named actions, run through the actor's own action executor with the same arguments, and the
 * same snapshot back, and the same inspection events. The dispatcher's batch events
 * (`workers.idle`, `work.available`, `jobs.claimed`) are the same kind of transition and take the
 * same path.
 *
 * Everything else — every other event, every other state, start, stop, errors, persistence,
 * the inspector's drawing — is the machine's own. The checks below run once, when the module
 * loads: a later edit that gives the transition a target, a guard, a built-in action or an
 * eventless neighbour fails loudly there instead of drifting from the machine (and
 * `test/hot-transitions.test.ts` runs random event sequences through both and compares them).
 */
export function withHotTransitions<M extends AnyStateMachine>(machine: M, ...hot: HotTransition[]): M {
  // state → event → the transition and its named actions.
  const table = new Map<string, Map<string, CheckedTransition>>();
  for (const entry of hot) {
    let byEvent = table.get(entry.state);
    if (!byEvent) table.set(entry.state, (byEvent = new Map<string, CheckedTransition>()));
    byEvent.set(entry.event, checkedTransition(machine, entry));
  }
  const hotLogic = Object.create(machine) as M;
  hotLogic.transition = (snapshot: AnyMachineSnapshot, event: EventObject, scope: AnyActorScope) => {
    const hotOne = snapshot.status === 'active' && typeof snapshot.value === 'string' ? table.get(snapshot.value)?.get(event.type) : undefined;
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- xstate types a logic's transition by its own machine; this wrapper is that machine
    if (!hotOne) return machine.transition(snapshot, event, scope);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- a machine snapshot's context is untyped at this level
    const info = { context: snapshot.context, event, self: scope.self, system: scope.system };
    for (const action of hotOne.actions) scope.actionExecutor({ type: action.type, info, params: undefined, exec: action.exec });
    // The interpreter reports each microstep to inspectors; so does this, through the same
    // (internal, hence looked up) channel, so an inspector sees the same stream either way.
    (scope.system as InspectionChannel)._sendInspectionEvent?.({
      type: '@xstate.microstep',
      actorRef: scope.self,
      event,
      snapshot,
      _transitions: hotOne.transitions,
    });
    return snapshot;
  };
  return hotLogic;
}

interface CheckedTransition {
  transitions: unknown[];
  actions: { type: string; exec: ActionImpl }[];
}

type InspectionChannel = { _sendInspectionEvent?: (event: Record<string, unknown>) => void };

/** The transition and its actions, if nothing about it needs the interpreter; throws otherwise. */
function checkedTransition(machine: AnyStateMachine, hot: HotTransition): CheckedTransition {
  const refuse = (why: string): never => {
    throw new TypeError(`withHotTransitions(${machine.id}: ${hot.state} on ${hot.event}): ${why}`);
  };
  const node = machine.root.states[hot.state];
  if (!node) return refuse('no such top-level state');
  if (Object.keys(node.states).length > 0) refuse('the state is not atomic');
  if (node.always || machine.root.always) refuse('eventless transitions would have to be evaluated after it');
  const candidates = node.on[hot.event];
  if (!candidates || candidates.length !== 1) refuse('the state needs exactly one transition for the event');
  const transition = candidates![0]!;
  if (transition.target !== undefined || transition.reenter) refuse('the transition must be targetless');
  if (transition.guard !== undefined) refuse('the transition must be unguarded');
  const implementations = machine.implementations.actions as Record<string, ActionImpl | undefined>;
  const actions = transition.actions.map((action) => {
    const impl = typeof action === 'string' ? implementations[action] : undefined;
    // Built-in actions (assign, raise, sendTo, spawn...) need the interpreter; inline functions
    // are allowed in a config but have no name to check, so only named implementations pass.
    if (typeof action !== 'string' || typeof impl !== 'function' || 'resolve' in impl) {
      return refuse('every action must be a named custom action (no assign, raise or inline function)');
    }
    return { type: action, exec: impl };
  });
  return { transitions: [transition], actions };
}
