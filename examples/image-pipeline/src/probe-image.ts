import type { BlobRef, BlobStore } from '@scalable-api/core';
import { checkImage, readImageHeader, type ImageHeader } from './image-header.js';
import { ImageRejectedError } from './image-rejected-error.js';

/** JPEG headers may sit behind large EXIF/ICC segments; past this we call the file corrupt. */
const maxHeaderBytes = 1_048_576;

/**
 * Reads only as much of the blob as its header needs, then stops the stream, and checks it against
 * the declared type and the pixel bound. Never decodes pixels.
 */
export async function probeImage(blobs: BlobStore, blob: BlobRef, maxPixels: number, signal: AbortSignal): Promise<ImageHeader> {
  const stream = blobs.open(blob.id);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      signal.throwIfAborted();
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      const header = readImageHeader(Buffer.concat(chunks, length));
      if (header) {
        checkImage(header, blob.contentType, maxPixels);
        return header;
      }
      if (length >= maxHeaderBytes) break;
    }
  } finally {
    stream.destroy();
  }
  throw new ImageRejectedError(length < 8 ? 'IMAGE_UNSUPPORTED' : 'IMAGE_CORRUPT', `no image header in the first ${length} bytes`);
}
