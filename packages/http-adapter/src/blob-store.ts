/**
 * The blob contract lives in `@scalable-api/core` (every job system may hold binary payloads, not
 * only HTTP uploads); the adapter re-exports it so existing imports keep working.
 */
export { blobIdPattern } from '@scalable-api/core';
export type { BlobPutOptions, BlobRef, BlobStore } from '@scalable-api/core';
