import { createJobSystem, type BlobStore, type JobSystem } from '@scalable-api/core';
import { createS3BlobStore } from '@scalable-api/core/s3';
import { jobsPlugin, problemFrameworkErrors } from '@scalable-api/http-adapter';
import Fastify, { type FastifyInstance } from 'fastify';
import { uploadJobs } from './upload-jobs.js';

export interface UploadConfig {
  /** Uploads in flight at once: I/O-bound, so many more than cores. */
  workers: number;
  queueLimit: number;
  bucket: string;
  prefix?: string | undefined;
  /** An S3-compatible endpoint (MinIO, s3rver): path-style URLs, only required checksums. */
  endpoint?: string | undefined;
  region: string;
  logger?: boolean;
}

/**
 * From the environment, like the Go service's MAX_WORKERS / MAX_QUEUE. S3 credentials are not
 * read here: the AWS SDK takes them from its default chain (`AWS_ACCESS_KEY_ID`, ...).
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): UploadConfig & { port: number; host: string } {
  const bucket = env['S3_BUCKET'];
  if (!bucket) throw new TypeError('S3_BUCKET is required');
  return {
    port: int(env['PORT'], 3000),
    host: env['HOST'] || '127.0.0.1',
    workers: int(env['WORKERS'], 64) || 64,
    queueLimit: int(env['QUEUE_LIMIT'], 100_000),
    bucket,
    prefix: env['S3_PREFIX'] || undefined,
    endpoint: env['S3_ENDPOINT'] || undefined,
    region: env['S3_REGION'] || 'us-east-1',
    logger: env['LOG'] !== 'off',
  };
}

export interface UploadService {
  app: FastifyInstance;
  system: JobSystem;
  blobs: BlobStore;
  shutdown: (graceMs: number) => Promise<void>;
}

/** `POST /uploads/upload-batch` with `{ payloads: [...] }`: 202, then one upload job per payload. */
export async function createUploadService(config: UploadConfig): Promise<UploadService> {
  const blobs = await createS3BlobStore({
    bucket: config.bucket,
    ...(config.prefix ? { prefix: config.prefix } : {}),
    clientConfig: {
      region: config.region,
      // One socket per worker at most: the SDK's default pool (50) would cap the workers silently.
      requestHandler: { httpAgent: { maxSockets: config.workers }, httpsAgent: { maxSockets: config.workers } },
      ...(config.endpoint
        ? {
            endpoint: config.endpoint,
            forcePathStyle: true,
            requestChecksumCalculation: 'WHEN_REQUIRED' as const,
            responseChecksumValidation: 'WHEN_REQUIRED' as const,
          }
        : {}),
    },
  });
  const system = createJobSystem({ jobs: uploadJobs(blobs), workers: config.workers, queue: { limit: config.queueLimit } });
  await system.start();
  const app = Fastify({ logger: config.logger ?? false, requestTimeout: 60_000, connectionTimeout: 70_000, frameworkErrors: problemFrameworkErrors });
  await app.register(jobsPlugin, { system, blobs, prefix: '/uploads', limits: { jsonBodyBytes: 8 * 1_048_576 } });
  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    (stopping ??= (async () => {
      try {
        await app.jobs.shutdown(graceMs);
      } finally {
        await blobs.close();
      }
    })());
  return { app, system, blobs, shutdown };
}

function int(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new TypeError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}
