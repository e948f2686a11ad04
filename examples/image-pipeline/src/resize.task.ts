import type { ThreadContext } from '@scalable-api/core';
import { openBlobStore } from './blob-location.js';
import { resizeImage, type ResizedImage, type ResizeInput } from './resize-image.js';

/** The resize job's logic in a worker thread: the same code, with the thread's own blob store. */
export default async function resizeTask(input: ResizeInput, ctx: ThreadContext): Promise<ResizedImage> {
  return resizeImage(await openBlobStore(input.location), input, ctx.signal);
}
