import { readdir } from 'node:fs/promises';
import { createFsBlobStore, type BlobStore } from '@scalable-api/core';
import { runBlobStoreConformance } from '@scalable-api/core/testing';

runBlobStoreConformance('createFsBlobStore', () => createFsBlobStore(), {
  objectCount: async (store: BlobStore) => (await readdir(`${(store as unknown as { dir: string }).dir}/objects`).catch(() => [])).length,
});
