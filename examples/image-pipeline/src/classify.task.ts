import type { ThreadBatchContext } from '@scalable-api/core';
import { openBlobStore } from './blob-location.js';
import { classifyBlobs, type ClassifyInput } from './classify-blobs.js';
import type { Scores } from './classify-image.js';
import { lowerThreadPriority } from './lower-thread-priority.js';

lowerThreadPriority();

/** The classify job's batch in a worker thread: the thread's own blob store, the thread's warm model. */
export default async function classifyTask(inputs: ClassifyInput[], ctx: ThreadBatchContext): Promise<(Scores | Error)[]> {
  const crashOn = process.env['IMAGE_PIPELINE_CRASH_ON_BLOB'];
  if (crashOn && inputs.some((input, i) => input.blob.id === crashOn && ctx.jobs[i]!.attempt === 1)) return crashThread();
  return classifyBlobs(await openBlobStore(inputs[0]!.location), inputs);
}

/**
 * Fault injection for the tests: a thread dying mid-batch (a native crash, an out-of-memory) cannot
 * be caused from outside on purpose, so a batch holding the named blob on its first attempt throws
 * outside the task's promise, which kills the thread as a native crash would.
 */
function crashThread(): Promise<never> {
  setImmediate(() => {
    throw new Error('the classify thread crashed mid-batch (IMAGE_PIPELINE_CRASH_ON_BLOB)');
  });
  return new Promise<never>(() => {});
}
