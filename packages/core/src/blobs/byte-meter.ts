import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ScalableApiError } from '../errors.js';

/**
 * A pass-through that counts and hashes the bytes on their way to storage, and fails the pipeline
 * with `PAYLOAD_TOO_LARGE` the moment they pass `maxBytes` (before they are stored, not after).
 */
export class ByteMeter extends Transform {
  // Not `size`: lib-storage reads `Body.size` as the total length of the upload.
  bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new ScalableApiError('PAYLOAD_TOO_LARGE', `The body is larger than ${this.maxBytes} bytes.`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** Hex SHA-256 of everything that passed; call once, after the stream ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}
