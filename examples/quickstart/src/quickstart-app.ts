import { createFsBlobStore, createJobSystem, type BlobStore, type JobStore, type JobSystem, type JobSystemOptions } from '@scalable-api/core';
import { jobsPlugin, problemFrameworkErrors, problemNotFound, type JobsPluginOptions } from '@scalable-api/http-adapter';
import Fastify, { type FastifyInstance } from 'fastify';
import { demoJobs } from './demo-jobs.js';

export interface QuickstartConfig {
  workers: number;
  queueLimit: number;
  /** Set: the Redis store, so several processes form one system. */
  redisUrl?: string | undefined;
  logger?: boolean | { level: string };
  /** The live dashboard at /jobs/dashboard. Default on. */
  dashboard?: boolean;
  /** An xstate inspector for every actor (examples/inspect passes the Stately inspector's). */
  inspect?: JobSystemOptions['inspect'];
  /** Passed through to the plugin (auth, rate limits, ...). */
  plugin?: Omit<JobsPluginOptions, 'system' | 'blobs'>;
}

export interface Quickstart {
  app: FastifyInstance;
  system: JobSystem;
  blobs: BlobStore;
  /** Graceful: refuse new work, drain within `graceMs`, then close the server and the store. */
  shutdown(graceMs: number): Promise<void>;
}

/** The env the quickstart reads, with its defaults (sized for I/O-bound demo jobs). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): QuickstartConfig & { port: number; host: string; graceMs: number } {
  return {
    port: intFrom(env['PORT'], 3000),
    host: env['HOST'] || '127.0.0.1',
    workers: intFrom(env['WORKERS'], 64),
    queueLimit: intFrom(env['QUEUE_LIMIT'], 10_000),
    redisUrl: env['REDIS_URL'] || undefined,
    graceMs: intFrom(env['SHUTDOWN_GRACE_MS'], 25_000),
    logger: env['LOG'] === 'off' ? false : { level: env['LOG'] || 'info' },
    dashboard: env['DASHBOARD'] !== 'off',
  };
}

/**
 * Builds (does not listen) the quickstart server: the job system with the demo jobs, and the
 * jobs plugin mounted at /jobs. Server timeouts are set because Node leaves a slow client free to
 * hold a socket forever; onProto/ConstructorPoisoning are explicit although the plugin's own JSON
 * parser enforces them on its routes anyway.
 */
export async function createQuickstart(config: QuickstartConfig): Promise<Quickstart> {
  const store = config.redisUrl ? await redisStore(config.redisUrl) : undefined;
  const blobs = await createFsBlobStore();
  const app = Fastify({
    logger: config.logger ?? false,
    requestTimeout: 120_000,
    connectionTimeout: 130_000,
    keepAliveTimeout: 72_000,
    // A client gets 10 s to send its headers, checked every second. Node's defaults (60 s,
    // checked every 30 s) let a slowloris that trickles one header line every few seconds hold
    // each socket for up to 90 s (`npm run chaos slowloris`); the body has requestTimeout.
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    frameworkErrors: problemFrameworkErrors,
  });
  // Unknown routes outside the plugin's (the root is this app's) are problems like its own.
  app.setNotFoundHandler(problemNotFound);
  // The server's pino logger is the jobs' logger too: job lines carry job id, name, attempt,
  // parent and root ids beside the request lines.
  const system = createJobSystem({
    jobs: demoJobs(blobs),
    blobs,
    workers: config.workers,
    queue: { limit: config.queueLimit },
    logger: app.log,
    ...(store ? { store } : {}),
    ...(config.inspect ? { inspect: config.inspect } : {}),
  });
  await system.start();
  await app.register(jobsPlugin, { dashboard: config.dashboard ?? true, ...config.plugin, system, blobs, prefix: config.plugin?.prefix ?? '/jobs' });

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    (stopping ??= (async () => {
      try {
        await app.jobs.shutdown(graceMs);
      } finally {
        await blobs.close();
        await store?.close();
      }
    })());
  return { app, system, blobs, shutdown };
}

/** Imported only when REDIS_URL is set, so the memory-store quickstart never loads ioredis. */
async function redisStore(url: string): Promise<JobStore> {
  const specifier = '@scalable-api/redis';
  const redis = (await import(specifier)) as { createRedisStore(options: { url: string }): JobStore | Promise<JobStore> };
  return redis.createRedisStore({ url });
}

function intFrom(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new TypeError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}
