import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createFsBlobStore, type BlobStore } from '@scalable-api/core';
import { runBlobStoreConformance } from '@scalable-api/core/testing/conformance';

runBlobStoreConformance('createFsBlobStore', () => createFsBlobStore(), {
  objectCount: async (store: BlobStore) => (await readdir(`${(store as unknown as { dir: string }).dir}/objects`).catch(() => [])).length,
});

describe('createFsBlobStore', () => {
  it('leaves no file behind when an upload fails or is too large', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fs-blob-test-'));
    const store = await createFsBlobStore({ dir });
    const failing = new Readable({
      read() {
        this.destroy(new Error('aborted'));
      },
    });
    await expect(store.put(failing, { contentType: 'application/octet-stream', maxBytes: 10 })).rejects.toThrow('aborted');
    await expect(store.put(Readable.from([Buffer.alloc(20)]), { contentType: 'application/octet-stream', maxBytes: 10 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(await readdir(dir)).toEqual([]);
    await store.close();
    // A directory the caller gave is the caller's: close() keeps it.
    await access(dir);
    await rm(dir, { recursive: true });
  });

  it('removes the temp directory it created on close', async () => {
    const store = await createFsBlobStore();
    const ref = await store.put(Readable.from([Buffer.from('x')]), { contentType: 'application/octet-stream', maxBytes: 10 });
    expect(ref.size).toBe(1);
    const dir = (store as unknown as { dir: string }).dir;
    await store.close();
    await expect(access(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
