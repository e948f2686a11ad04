import { createFsBlobStore, type BlobStore } from '@scalable-api/core';
import { createS3BlobStore } from '@scalable-api/core/s3';

/**
 * Where the pipeline's blobs live, as plain data: a worker thread cannot be handed the main
 * thread's store object, so it opens its own from this. Credentials never travel in it (they
 * would land in the job store): S3 credentials come from the environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, or any source of the SDK's default chain), which threads inherit.
 */
export type BlobLocation =
  | { kind: 'fs'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      prefix?: string;
      endpoint?: string;
      region?: string;
      /** Path-style URLs and only the checksums S3 requires: for S3-compatible servers (MinIO, s3rver). */
      compatible?: boolean;
    };

const opened = new Map<string, Promise<BlobStore>>();

/** Opens (once per thread and location) the store a location names. */
export function openBlobStore(location: BlobLocation): Promise<BlobStore> {
  const key = JSON.stringify(location);
  let store = opened.get(key);
  if (!store) {
    store = location.kind === 'fs' ? createFsBlobStore({ dir: location.dir }) : createS3BlobStore(s3Options(location));
    opened.set(key, store);
  }
  return store;
}

function s3Options(location: Extract<BlobLocation, { kind: 's3' }>): Parameters<typeof createS3BlobStore>[0] {
  return {
    bucket: location.bucket,
    ...(location.prefix ? { prefix: location.prefix } : {}),
    clientConfig: {
      region: location.region ?? 'us-east-1',
      ...(location.endpoint ? { endpoint: location.endpoint } : {}),
      ...(location.compatible
        ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
        : {}),
    },
  };
}
