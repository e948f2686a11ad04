import type { Readable } from 'node:stream';

/**
 * What a job receives in place of a binary body. The bytes stay in the blob store; only this
 * reference travels through the job store, so a 50 MB image never sits in Redis or in memory.
 */
export interface BlobRef {
  id: string;
  size: number;
  contentType: string;
  /** Hex SHA-256 of the bytes, computed while streaming. */
  sha256: string;
}

export interface BlobPutOptions {
  contentType: string;
  /** The upload fails with `PAYLOAD_TOO_LARGE` once it passes this many bytes. */
  maxBytes: number;
}

/**
 * Where binary bodies go. `put` consumes the stream with back-pressure and either stores all of
 * it or nothing: an aborted or oversized upload leaves no file behind. The default is
 * `createFsBlobStore` (a temp directory); an S3 store implements the same four methods.
 */
export interface BlobStore {
  put(source: Readable, options: BlobPutOptions): Promise<BlobRef>;
  /** Streams a stored blob; errors with ENOENT when it is gone. */
  open(id: string): Readable;
  /** Removes a blob; removing one that is gone is not an error. */
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Blob ids are 128 random bits in base64url: unguessable, safe in paths and job meta. */
export const blobIdPattern = /^[A-Za-z0-9_-]{22}$/;
