import type { Readable } from 'node:stream';

/**
 * What a job receives in place of a binary body. The bytes stay in the blob store; only this
 * reference travels through the job store, so a 50 MB image never sits in Redis or in memory.
 */
export interface BlobRef {
  /** This reference: unique per `put`, and what `open` and `remove` take. */
  id: string;
  size: number;
  contentType: string;
  /** Hex SHA-256 of the bytes, computed while streaming. Equal bytes share one stored object. */
  sha256: string;
}

export interface BlobPutOptions {
  contentType: string;
  /** The upload fails with `PAYLOAD_TOO_LARGE` once it passes this many bytes. */
  maxBytes: number;
}

/**
 * Where binary payloads go. `put` consumes the stream with back-pressure and either stores all of
 * it or nothing: an aborted or oversized upload leaves nothing behind.
 *
 * Storage is content-addressed: every `put` returns its own reference `id`, but equal bytes are
 * stored once. `remove(id)` drops that reference, and the bytes go with the last reference. Jobs
 * carry the reference (never the bytes), and the job's upload is removed when the job store drops
 * the job after its retention (`job.dropped`).
 *
 * Implementations: `createFsBlobStore` (the default: a directory) and `createS3BlobStore` from `@scalable-api/core/s3` (any
 * S3-compatible object store, shared by every node). `runBlobStoreConformance` from
 * `@scalable-api/core/testing/conformance` is the contract as a test suite.
 *
 * @example
 * const ref = await blobs.put(request.raw, { contentType: 'image/png', maxBytes: 10_000_000 });
 * for await (const chunk of blobs.open(ref.id)) hash.update(chunk);
 * await blobs.remove(ref.id);
 */
export interface BlobStore {
  put(source: Readable, options: BlobPutOptions): Promise<BlobRef>;
  /** Streams a stored blob; the stream errors with `code: 'ENOENT'` when the reference is gone. */
  open(id: string): Readable;
  /** Drops a reference (and the bytes with the last one); removing one that is gone is not an error. */
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}
