import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsBlobStore, createJobSystem, type BlobStore, type JobSystem } from '@scalable-api/core';
import { jobsPlugin, problemFrameworkErrors } from '@scalable-api/http-adapter';
import Fastify, { type FastifyInstance } from 'fastify';
import { openBlobStore, type BlobLocation } from './blob-location.js';
import { imagePipelineJobs, type ModerationOptions } from './pipeline-jobs.js';

export interface PipelineConfig {
  workers: number;
  queueLimit: number;
  /** Worker threads for the resize and classify steps. */
  threads: number;
  /**
   * Calls one thread holds at once: with 2 a thread is handed its next batch while one runs, so the
   * next batch's blob reads and decodes overlap this one's inference (the thread no longer idles between calls). Default 2.
   */
  tasksPerThread?: number;
  isolation: 'thread' | 'inline';
  /** Unset: files in a temp directory (one machine only). */
  s3?: Extract<BlobLocation, { kind: 's3' }> | undefined;
  widths: number[];
  maxPixels: number;
  /** Upload limit in bytes (HTTP 413 past it). */
  maxUploadBytes: number;
  /** The moderation step (`MODERATION=refuse|flag|off`, `MODERATION_THRESHOLD`, `BATCH_MAX`, `BATCH_WAIT_MS`); false skips it. */
  moderation?: ModerationOptions | false;
  logger?: boolean;
}

export interface ImagePipeline {
  app: FastifyInstance;
  system: JobSystem;
  blobs: BlobStore;
  location: BlobLocation;
  shutdown: (graceMs: number) => Promise<void>;
}

/** Configuration from the environment, with defaults for a 2-4 core machine. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): PipelineConfig & { port: number; host: string } {
  const bucket = env['S3_BUCKET'];
  return {
    port: int(env['PORT'], 3000),
    host: env['HOST'] || '127.0.0.1',
    workers: int(env['WORKERS'], 16),
    queueLimit: int(env['QUEUE_LIMIT'], 1_000),
    // Resizing and the model are CPU-bound: a thread per core but one, which stays with the event
    // loop that answers requests (/health, uploads); a thread on every core made /health wait.
    threads: int(env['THREADS'], Math.max(1, availableParallelism() - 1)),
    tasksPerThread: int(env['THREAD_TASKS'], 2),
    isolation: env['ISOLATION'] === 'inline' ? 'inline' : 'thread',
    s3: bucket
      ? {
          kind: 's3',
          bucket,
          ...(env['S3_PREFIX'] ? { prefix: env['S3_PREFIX'] } : {}),
          ...(env['S3_ENDPOINT'] ? { endpoint: env['S3_ENDPOINT'], compatible: true } : {}),
          ...(env['S3_REGION'] ? { region: env['S3_REGION'] } : {}),
        }
      : undefined,
    widths: (env['IMAGE_WIDTHS'] || '64,256,1024')
      .split(',')
      .map((w) => int(w.trim(), 0))
      .filter((w) => w > 0),
    maxPixels: int(env['MAX_PIXELS'], 40_000_000),
    maxUploadBytes: int(env['MAX_UPLOAD_BYTES'], 20 * 1_048_576),
    moderation:
      env['MODERATION'] === 'off'
        ? false
        : {
            policy: env['MODERATION'] === 'refuse' ? 'refuse' : 'flag',
            threshold: env['MODERATION_THRESHOLD'] ? Number(env['MODERATION_THRESHOLD']) : 0.7,
            batch: { max: int(env['BATCH_MAX'], 8), waitMs: int(env['BATCH_WAIT_MS'], 10) },
          },
    logger: env['LOG'] !== 'off',
  };
}

/**
 * The image pipeline server (built, not listening): `POST /images/image` with an image body
 * answers 202 with the job id; `GET /images/:id/events` streams its progress; the completed job's
 * output holds the stored keys.
 */
export async function createImagePipeline(config: PipelineConfig): Promise<ImagePipeline> {
  let dir: string | undefined;
  let location: BlobLocation;
  if (config.s3) location = config.s3;
  else {
    dir = await mkdtemp(join(tmpdir(), 'image-pipeline-'));
    location = { kind: 'fs', dir };
  }
  const blobs = location.kind === 'fs' ? await createFsBlobStore({ dir: location.dir }) : await openBlobStore(location);
  const jobs = imagePipelineJobs({
    blobs,
    location,
    isolation: config.isolation,
    widths: config.widths,
    maxPixels: config.maxPixels,
    ...(config.moderation === undefined ? {} : { moderation: config.moderation }),
  });
  const system = createJobSystem({
    jobs,
    workers: config.workers,
    queue: { limit: config.queueLimit },
    threads: { max: config.threads, tasksPerThread: config.tasksPerThread ?? 2 },
  });
  await system.start();
  const app = Fastify({ logger: config.logger ?? false, requestTimeout: 60_000, connectionTimeout: 70_000, frameworkErrors: problemFrameworkErrors });
  await app.register(jobsPlugin, { system, blobs, prefix: '/images', limits: { blobBytes: config.maxUploadBytes } });
  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    (stopping ??= (async () => {
      try {
        await app.jobs.shutdown(graceMs);
      } finally {
        await blobs.close();
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    })());
  return { app, system, blobs, location, shutdown };
}

function int(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new TypeError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}
