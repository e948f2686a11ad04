/** The suite moved to `@scalable-api/core/testing` with the contract; re-exported for existing imports. */
export { runBlobStoreConformance } from '@scalable-api/core/testing';
export type { BlobStoreConformanceOptions } from '@scalable-api/core/testing';
