import type { ThreadContext } from '@scalable-api/core';
import { openBlobStore } from './blob-location.js';
import { classifyBlobs, type ClassifyInput } from './classify-blobs.js';
import type { Scores } from './classify-image.js';
import { lowerThreadPriority } from './lower-thread-priority.js';

lowerThreadPriority();

/** One image per call in a worker thread: the unbatched peer the benchmark compares batches with. */
export default async function classifyOneTask(input: ClassifyInput, _ctx: ThreadContext): Promise<Scores> {
  const [scores] = await classifyBlobs(await openBlobStore(input.location), [input]);
  if (scores instanceof Error) throw scores;
  return scores!;
}
