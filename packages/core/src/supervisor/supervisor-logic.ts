import { and, assign, enqueueActions, setup, type ActorRefFrom, type AnyActorRef, type EventObject } from 'xstate';
import type { Clock } from '../clock.js';
import type { DispatcherRuntime } from '../dispatcher/dispatch-state.js';
import { dispatcherLogic, type DispatcherActorRef } from '../dispatcher/dispatcher-logic.js';
import { msg } from '../messages.js';
import { workerLogic, type WorkerActorRef, type WorkerRuntime } from '../worker/worker-logic.js';

export interface SupervisorRuntime {
  clock: Clock;
  dispatcher: DispatcherRuntime;
  worker: WorkerRuntime;
  /** A worker crashed: the runtime hands its attempt back before a replacement starts. */
  workerCrashed(worker: AnyActorRef, error: unknown): void;
  /** The restart intensity was passed: the system stops taking work. */
  unhealthy(error: unknown): void;
  /** A cool-down after turning unhealthy passed: workers are back and work is taken again. */
  healthy(): void;
}

export interface SupervisorInput {
  workers: number;
  restartIntensity: { maxRestarts: number; withinMs: number };
  runtime: SupervisorRuntime;
}

export interface SupervisorContext {
  runtime: SupervisorRuntime;
  intensity: { maxRestarts: number; withinMs: number };
  dispatcher: DispatcherActorRef;
  workers: Record<string, WorkerActorRef>;
  /** When recent restarts happened, oldest first; pruned to the intensity window. */
  restartTimes: number[];
  restarts: number;
  generation: number;
  /** How many workers the pool should have. */
  size: number;
}

export type SupervisorEvent = { type: 'supervisor.shutdown' } | (EventObject & { type: `xstate.error.actor.${string}`; error?: unknown });

const WORKER_PREFIX = 'worker-';

/**
 * The root of the actor tree: spawns the dispatcher and the workers, and restarts a crashed
 * worker one-for-one. Past the restart intensity (N crashes within T ms) it stops restarting and
 * turns `unhealthy`, pausing the dispatcher: a system that crashes in a loop must stop taking
 * work rather than spin.
 */
export const supervisorLogic = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  actors: { worker: workerLogic, dispatcher: dispatcherLogic },
  delays: {
    cooldown: ({ context }) => context.intensity.withinMs,
  },
  guards: {
    isWorkerCrash: ({ event }) => event.type.startsWith(`xstate.error.actor.${WORKER_PREFIX}`),
    withinIntensity: ({ context }) => {
      const now = context.runtime.clock.now();
      const recent = context.restartTimes.filter((t) => t > now - context.intensity.withinMs);
      return recent.length < context.intensity.maxRestarts;
    },
  },
  actions: {
    handBack: ({ context, event }) => {
      const id = event.type.slice('xstate.error.actor.'.length);
      const worker = context.workers[id];
      if (!worker) return;
      context.dispatcher.send(msg.workerRemoved(worker));
      context.runtime.workerCrashed(worker, (event as { error?: unknown }).error);
    },
    restartWorker: assign(({ context, event, spawn }) => {
      const id = event.type.slice('xstate.error.actor.'.length);
      const old = context.workers[id];
      const now = context.runtime.clock.now();
      const workers = { ...context.workers };
      delete workers[id];
      const index = old?.getSnapshot().context.index ?? 0;
      const generation = context.generation + 1;
      const newId = `${WORKER_PREFIX}${index}.${generation}`;
      workers[newId] = spawn('worker', { id: newId, input: { index, runtime: context.runtime.worker } });
      return {
        workers,
        generation,
        restarts: context.restarts + 1,
        restartTimes: [...context.restartTimes.filter((t) => t > now - context.intensity.withinMs), now],
      };
    }),
    dropWorker: assign(({ context, event }) => {
      const id = event.type.slice('xstate.error.actor.'.length);
      const workers = { ...context.workers };
      delete workers[id];
      return { workers, restarts: context.restarts + 1 };
    }),
    respawnWorkers: assign(({ context, spawn }) => {
      const present = new Set(Object.values(context.workers).map((worker) => worker.getSnapshot().context.index));
      const workers = { ...context.workers };
      let generation = context.generation;
      for (let index = 0; index < context.size; index++) {
        if (present.has(index)) continue;
        generation++;
        const id = `${WORKER_PREFIX}${index}.${generation}`;
        workers[id] = spawn('worker', { id, input: { index, runtime: context.runtime.worker } });
      }
      return { workers, generation, restartTimes: [] };
    }),
    pauseDispatcher: ({ context }) => context.dispatcher.send(msg.dispatcherPause()),
    resumeDispatcher: ({ context }) => context.dispatcher.send(msg.dispatcherResume()),
    reportHealthy: ({ context }) => context.runtime.healthy(),
    reportUnhealthy: ({ context }) => context.runtime.unhealthy(new Error('restart intensity exceeded')),
    stopWorkers: enqueueActions(({ context, enqueue }) => {
      for (const worker of Object.values(context.workers)) enqueue.sendTo(worker, msg.workerStop());
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input, spawn }) => {
    const dispatcher = spawn('dispatcher', { id: 'dispatcher', systemId: 'dispatcher', input: { runtime: input.runtime.dispatcher } });
    const workers: Record<string, WorkerActorRef> = {};
    for (let index = 0; index < input.workers; index++) {
      const id = `${WORKER_PREFIX}${index}`;
      workers[id] = spawn('worker', { id, input: { index, runtime: input.runtime.worker } });
    }
    return {
      runtime: input.runtime,
      intensity: input.restartIntensity,
      dispatcher,
      workers,
      restartTimes: [],
      restarts: 0,
      generation: 0,
      size: input.workers,
    };
  },
  initial: 'healthy',
  states: {
    healthy: {
      on: {
        '*': [
          { guard: and(['isWorkerCrash', 'withinIntensity']), actions: ['handBack', 'restartWorker'] },
          { guard: 'isWorkerCrash', target: 'unhealthy', actions: ['handBack', 'dropWorker'] },
        ],
      },
    },
    unhealthy: {
      entry: ['pauseDispatcher', 'reportUnhealthy'],
      on: { '*': { guard: 'isWorkerCrash', actions: ['handBack', 'dropWorker'] } },
      // Not a crash loop: one attempt to come back per intensity window. A store that was
      // unreachable for a while (a Redis restart) is the usual cause, and it usually returns.
      after: { cooldown: { target: 'healthy', actions: ['respawnWorkers', 'resumeDispatcher', 'reportHealthy'] } },
    },
    stopped: {
      entry: ['pauseDispatcher', 'stopWorkers'],
    },
  },
  on: {
    'supervisor.shutdown': { target: '.stopped' },
  },
});

export type SupervisorActorRef = ActorRefFrom<typeof supervisorLogic>;
