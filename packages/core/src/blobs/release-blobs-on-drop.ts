import type { JobStore } from '../store/job-store.js';
import type { BlobStore } from './blob-store.js';

export interface ReleaseBlobsOptions {
  /** The job meta key that holds a blob id. Default `'blob'` (what the HTTP adapter sets). */
  metaKey?: string;
  /** A removal failed (the blob store is down): log it; the blob stays until swept by hand. */
  onError?: (error: unknown, blobId: string) => void;
}

/**
 * Removes a job's payload when the job store drops the job after its retention. Jobs reference
 * their payload through `meta[metaKey]` (a blob id), never inline; this is the other half of that
 * rule. Returns the unsubscribe function. The HTTP adapter does this for its uploads; call it for
 * blobs your own code attaches to jobs.
 *
 * @example
 * const stop = releaseBlobsOnDrop(system.store, blobs, { onError: (err) => log.warn({ err }) });
 * await system.submit(resize, { blob: ref }, { meta: { blob: ref.id } });
 */
export function releaseBlobsOnDrop(store: JobStore, blobs: BlobStore, options: ReleaseBlobsOptions = {}): () => void {
  const key = options.metaKey ?? 'blob';
  return store.subscribe((signal) => {
    if (signal.type !== 'job.dropped') return;
    const id = signal.meta?.[key];
    if (id === undefined) return;
    blobs.remove(id).catch((error: unknown) => options.onError?.(error, id));
  });
}
