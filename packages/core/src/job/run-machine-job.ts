import { createActor, type AnyActorLogic } from 'xstate';
import type { AttemptHost } from './attempt-host.js';
import type { JobContext } from './job-context.js';
import { isActive } from '../machines/is-active.js';

/**
 * Runs a machine job: its actor gets `{ input, ctx }` (`MachineJobInput`), its output is the
 * job's output, an error it reaches is the attempt's failure, and an abort (cancel, timeout,
 * shutdown) stops it. It counts among the system's live actors while it runs.
 */
export function runMachineJob(
  machine: AnyActorLogic,
  input: unknown,
  ctx: JobContext,
  signal: AbortSignal,
  host: Pick<AttemptHost, 'inspectOption' | 'actorStarted' | 'actorStopped'>,
): Promise<unknown> {
  const actor = createActor(machine, { input: { input, ctx }, ...host.inspectOption });
  host.actorStarted();
  return new Promise((resolve, reject) => {
    const release = () => host.actorStopped();
    actor.subscribe({
      complete: () => {
        release();
        resolve((actor.getSnapshot() as { output?: unknown }).output);
      },
      error: (error) => {
        release();
        reject(error);
      },
    });
    signal.addEventListener(
      'abort',
      () => {
        if (isActive(actor)) {
          actor.stop();
          release();
        }
      },
      { once: true },
    );
    actor.start();
  });
}
