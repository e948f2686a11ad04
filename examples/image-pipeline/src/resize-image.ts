import { Readable } from 'node:stream';
import type { BlobRef, BlobStore } from '@scalable-api/core';
import sharp, { type OutputInfo } from 'sharp';
import type { BlobLocation } from './blob-location.js';
import { ImageRejectedError } from './image-rejected-error.js';

export interface ResizeInput {
  blob: BlobRef;
  width: number;
  format: 'png' | 'jpeg';
  /** sharp refuses to decode more pixels than this (the probe already checked the header). */
  maxPixels: number;
  /** Where `blob` is and where the result goes (a thread opens its own store from it). */
  location: BlobLocation;
}

export interface ResizedImage {
  width: number;
  height: number;
  /** The stored result's blob id: the object key the pipeline returns. */
  key: string;
  size: number;
  sha256: string;
  contentType: string;
}

/**
 * Resizes one image to one width with sharp (libvips) and stores the result. The source is read
 * whole: its size is bounded by the upload limit, and libvips needs random access for JPEG/PNG.
 * Works the same on the main thread and inside a worker thread.
 */
export async function resizeImage(blobs: BlobStore, input: ResizeInput, signal: AbortSignal): Promise<ResizedImage> {
  const chunks: Buffer[] = [];
  for await (const chunk of blobs.open(input.blob.id)) {
    signal.throwIfAborted();
    chunks.push(chunk as Buffer);
  }
  let output: { data: Buffer; info: OutputInfo };
  try {
    output = await sharp(Buffer.concat(chunks), { limitInputPixels: input.maxPixels, failOn: 'error' })
      .resize({ width: input.width, withoutEnlargement: true })
      .toFormat(input.format)
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new ImageRejectedError('IMAGE_CORRUPT', `the image could not be decoded: ${(error as Error).message}`);
  }
  signal.throwIfAborted();
  const contentType = `image/${input.format}`;
  const stored = await blobs.put(Readable.from([output.data]), { contentType, maxBytes: output.data.length });
  return { width: output.info.width, height: output.info.height, key: stored.id, size: stored.size, sha256: stored.sha256, contentType };
}
