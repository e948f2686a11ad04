import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../blobs/blob-store.js';

export interface BlobStoreConformanceOptions {
  /** How many distinct objects (not references) the store holds, to check deduplication. */
  objectCount?: (store: BlobStore) => Promise<number>;
}

/** Streams `size` bytes of a repeating pattern (shifted by `seed`) without holding them. */
function bytes(size: number, seed = 0, chunk = 64 * 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(chunk, size - sent);
      const buf = Buffer.alloc(n);
      for (let i = 0; i < n; i++) buf[i] = (sent + i + seed) % 251;
      sent += n;
      this.push(buf);
    },
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const binary = { contentType: 'application/octet-stream', maxBytes: 1_000_000 };

/**
 * The contract every `BlobStore` keeps, as one vitest suite: the file system store and the S3
 * store run it, and so must any other. `create` gives a fresh, empty store; it is closed after
 * each test. With `objectCount` the suite also checks that equal bytes are stored once.
 *
 * @example
 * runBlobStoreConformance('s3 blob store', () => createS3BlobStore({ bucket, clientConfig }));
 */
export function runBlobStoreConformance(name: string, create: () => Promise<BlobStore>, options: BlobStoreConformanceOptions = {}): void {
  describe(`${name} (BlobStore conformance)`, () => {
    let store: BlobStore;
    beforeEach(async () => {
      store = await create();
    });
    afterEach(async () => {
      await store.close();
    });

    it('stores a stream and reads it back with its size, type and SHA-256', async () => {
      const expected = await readAll(bytes(300_000));
      const ref = await store.put(bytes(300_000), { contentType: 'image/png', maxBytes: 1_000_000 });
      expect(ref).toEqual({
        id: expect.stringMatching(/^[A-Za-z0-9_-]{65}$/) as string,
        size: 300_000,
        contentType: 'image/png',
        sha256: createHash('sha256').update(expected).digest('hex'),
      });
      expect((await readAll(store.open(ref.id))).equals(expected)).toBe(true);
    });

    it('gives every put its own id, even for equal bytes', async () => {
      const refs = await Promise.all(
        Array.from({ length: 5 }, () => store.put(bytes(10), { contentType: 'application/octet-stream', maxBytes: 100 })),
      );
      expect(new Set(refs.map((r) => r.id)).size).toBe(5);
      expect(new Set(refs.map((r) => r.sha256)).size).toBe(1);
    });

    it('stores an empty body', async () => {
      const ref = await store.put(Readable.from([]), { contentType: 'application/octet-stream', maxBytes: 10 });
      expect(ref.size).toBe(0);
      expect((await readAll(store.open(ref.id))).length).toBe(0);
    });

    it('refuses a body over maxBytes with PAYLOAD_TOO_LARGE', async () => {
      await expect(store.put(bytes(2_000), { contentType: 'application/octet-stream', maxBytes: 1_000 })).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
      });
    });

    it('rejects when the source fails midway (a client that disconnects)', async () => {
      let sent = 0;
      const failing = new Readable({
        read() {
          sent++;
          if (sent > 3) this.destroy(new Error('aborted'));
          else this.push(Buffer.alloc(1024));
        },
      });
      await expect(store.put(failing, binary)).rejects.toThrow();
    });

    it('removes blobs, and removing a missing one is not an error', async () => {
      const ref = await store.put(bytes(100), { contentType: 'application/octet-stream', maxBytes: 1_000 });
      await store.remove(ref.id);
      await store.remove(ref.id);
      await store.remove('no-such-blob-id-000000');
      await expect(readAll(store.open(ref.id))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('keeps shared bytes until their last reference is removed', async () => {
      const first = await store.put(bytes(5_000, 7), binary);
      const second = await store.put(bytes(5_000, 7), binary);
      const other = await store.put(bytes(5_000, 8), binary);
      if (options.objectCount) expect(await options.objectCount(store)).toBe(2);
      await store.remove(first.id);
      await expect(readAll(store.open(first.id))).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await readAll(store.open(second.id))).length).toBe(5_000);
      await store.remove(second.id);
      await expect(readAll(store.open(second.id))).rejects.toMatchObject({ code: 'ENOENT' });
      if (options.objectCount) expect(await options.objectCount(store)).toBe(1);
      expect((await readAll(store.open(other.id))).length).toBe(5_000);
    });

    it('refuses ids that are not blob ids (no path tricks) and ids of bytes it never stored', async () => {
      await expect(readAll(store.open('../../etc/passwd'))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(readAll(store.open('A'.repeat(65)))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
}
