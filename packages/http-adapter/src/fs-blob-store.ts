/** The default blob store now lives in `@scalable-api/core`; re-exported for existing imports. */
export { createFsBlobStore } from '@scalable-api/core';
export type { FsBlobStoreOptions } from '@scalable-api/core';
