import type { BlobRef, BlobStore } from '@scalable-api/core';
import type { BlobLocation } from './blob-location.js';
import { classifyImages, type Scores } from './classify-image.js';

export interface ClassifyInput {
  blob: BlobRef;
  /** sharp refuses to decode more pixels than this (the probe already checked the header). */
  maxPixels: number;
  /** Where `blob` is (a thread opens its own store from it). */
  location: BlobLocation;
}

/** Reads each image whole (bounded by the upload limit) and classifies them as one batch; a blob that cannot be read fails alone. */
export async function classifyBlobs(blobs: BlobStore, inputs: readonly ClassifyInput[]): Promise<(Scores | Error)[]> {
  const images = await Promise.all(
    inputs.map(async ({ blob, maxPixels }) => ({ bytes: await read(blobs, blob.id).catch((error: unknown) => error as Error), maxPixels })),
  );
  return classifyImages(images);
}

async function read(blobs: BlobStore, id: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of blobs.open(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
