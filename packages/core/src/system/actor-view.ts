import type { AnyActorRef } from 'xstate';
import type { SupervisorActorRef } from '../supervisor/supervisor-logic.js';
import type { JobSystem } from './job-system.js';

/** One worker actor as a dashboard shows it. */
export interface WorkerView {
  /** The actor's id: `worker-<index>`, or `worker-<index>.<generation>` once restarted. */
  id: string;
  index: number;
  /** Restarted replacements of this slot carry a generation above 0. */
  generation: number;
  /** `idle` when the dispatcher holds it as free, even if its machine has not rested yet. */
  state: 'idle' | 'running' | 'stopped';
  /** Told to rest by the dispatcher (its machine is in `resting`). */
  rested: boolean;
  job: { id: string; name: string } | undefined;
  jobsRun: number;
}

/** A read-only picture of this node's actors, taken from their snapshots at one instant. */
export interface ActorsView {
  supervisor: {
    state: 'healthy' | 'unhealthy' | 'stopped';
    restarts: number;
    /** Restarts inside the intensity window, against the allowed count. */
    recentRestarts: number;
    intensity: { maxRestarts: number; withinMs: number };
  };
  dispatcher: { state: string; idle: number; rested: number; backlog: number; claiming: boolean; assigned: number };
  workers: WorkerView[];
}

/** The runtime answers under this key; a symbol keeps it off the public `JobSystem` surface. */
export const actorsViewKey: unique symbol = Symbol.for('@scalable-api/core.actorsView');

/** Reads the actor snapshots; `undefined` before `start()` or after `stop()`. */
export function readActorsView(supervisor: SupervisorActorRef | undefined, now: number): ActorsView | undefined {
  if (!supervisor || supervisor.getSnapshot().status !== 'active') return undefined;
  const snapshot = supervisor.getSnapshot();
  const { context } = snapshot;
  const dispatcherSnapshot = context.dispatcher.getSnapshot();
  const dispatch = dispatcherSnapshot.context.state;
  const idle = new Set<AnyActorRef>(dispatch.idle);
  const workers: WorkerView[] = [];
  for (const [id, ref] of Object.entries(context.workers)) {
    const worker = ref.getSnapshot();
    const workerContext = worker.context;
    const generation = Number(id.split('.')[1] ?? 0);
    const stopped = worker.status !== 'active' || worker.value === 'stopped';
    workers.push({
      id,
      index: workerContext.index,
      generation,
      state: stopped ? 'stopped' : idle.has(ref) ? 'idle' : 'running',
      rested: dispatch.rested.has(ref),
      job: idle.has(ref) || stopped ? undefined : workerContext.activity.job,
      jobsRun: workerContext.activity.jobsRun,
    });
  }
  workers.sort((a, b) => a.index - b.index);
  const windowStart = now - context.intensity.withinMs;
  return {
    supervisor: {
      state: snapshot.value,
      restarts: context.restarts,
      recentRestarts: context.restartTimes.filter((t) => t > windowStart).length,
      intensity: context.intensity,
    },
    dispatcher: {
      state: String(dispatcherSnapshot.value),
      idle: dispatch.idle.length,
      rested: dispatch.rested.size,
      backlog: dispatch.backlog.length,
      claiming: dispatch.claiming > 0,
      assigned: dispatch.assigned,
    },
    workers,
  };
}

/**
 * This node's supervisor, dispatcher and workers as they are now: which worker runs which job,
 * restarts, the supervisor's health. For dashboards; it never changes anything.
 *
 * @example
 * const view = actorsView(system);
 * for (const w of view?.workers ?? []) console.log(w.id, w.state, w.job?.name);
 */
export function actorsView(system: JobSystem): ActorsView | undefined {
  const read = (system as unknown as { [actorsViewKey]?: () => ActorsView | undefined })[actorsViewKey];
  return typeof read === 'function' ? read.call(system) : undefined;
}
