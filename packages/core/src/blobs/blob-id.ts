import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * A blob id is the content digest and a random part, both base64url: 43 characters of SHA-256
 * then 22 of 128 random bits. The digest lets a store find the shared object without a lookup;
 * the random part makes each reference unguessable and distinct. Safe in paths, keys and job meta.
 */
export const blobIdPattern = /^[A-Za-z0-9_-]{65}$/;

export interface BlobIdParts {
  /** Hex SHA-256 of the bytes: the object's key. */
  sha256: string;
  /** The reference's own random part. */
  ref: string;
}

export function newRefPart(): string {
  return randomBytes(16).toString('base64url');
}

export function blobId(sha256Hex: string, ref: string): string {
  return Buffer.from(sha256Hex, 'hex').toString('base64url') + ref;
}

/** The parts of an id, or undefined for anything that is not a blob id (a path, say). */
export function parseBlobId(id: string): BlobIdParts | undefined {
  if (!blobIdPattern.test(id)) return undefined;
  return { sha256: Buffer.from(id.slice(0, 43), 'base64url').toString('hex'), ref: id.slice(43) };
}

/** The error every store gives for a missing blob: Node's ENOENT shape, so callers test one code. */
export function blobNotFound(id: string): Error {
  return Object.assign(new Error(`blob ${JSON.stringify(id.slice(0, 80))} not found`), { code: 'ENOENT' });
}

/** A stream that fails with ENOENT on first read. */
export function missingBlob(id: string): Readable {
  return new Readable({
    read() {
      this.destroy(blobNotFound(id));
    },
  });
}
