import { createFsBlobStore, createJobSystem, type BlobStore, type JobStore, type JobSystem, type JobSystemOptions } from '@scalable-api/core';
import { jobsPlugin, problemFrameworkErrors, problemNotFound, type JobsPluginOptions } from '@scalable-api/http-adapter';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { demoJobs } from './demo-jobs.js';

/**
 * What this process is in a two-tier deployment: `api` accepts, answers, cancels and streams but
 * runs no job (a producer node, `workers: 0`); `worker` runs jobs and serves no HTTP; `all` does
 * both (the default, and the only role that makes sense without a shared store).
 */
export type QuickstartRole = 'api' | 'worker' | 'all';

export const quickstartRoles: readonly QuickstartRole[] = ['api', 'worker', 'all'];

export interface QuickstartConfig {
  /** Default `all`. `api` and `worker` need `redisUrl`: the tiers meet only in the store. */
  role?: QuickstartRole;
  workers: number;
  queueLimit: number;
  /**
   * Set: the Redis store, so several processes form one system. Several comma-separated URLs:
   * one shard per server (see docs/scaling-out.md).
   */
  redisUrl?: string | undefined;
  /** The Redis store's key prefix (`REDIS_PREFIX`); processes with the same one form one system. */
  redisPrefix?: string | undefined;
  /**
   * With `redisUrl`: split the store into this many shards, spread in turn over the servers of
   * `redisUrl` (one server: hash tags on one connection). Every process must use the same count.
   */
  redisShards?: number | undefined;
  logger?: boolean | { level: string };
  /** The live dashboard at /jobs/dashboard. Default on. */
  dashboard?: boolean;
  /** An xstate inspector for every actor (examples/inspect passes the Stately inspector's). */
  inspect?: JobSystemOptions['inspect'];
  /**
   * `TENANT_RATE`: requests each tenant (each IP without API keys) may make per
   * `TENANT_RATE_WINDOW_MS` (default 1,000). With `redisUrl` the counts live in that Redis, so the
   * quota holds across every process; without it, per process. Unset: no quota (the benches and
   * the keyless demo send everything from one IP).
   */
  tenantRate?: { max: number; timeWindowMs: number } | undefined;
  /** Passed through to the plugin (auth, rate limits, ...). */
  plugin?: Omit<JobsPluginOptions, 'system' | 'blobs'>;
}

export interface Quickstart {
  role: QuickstartRole;
  /** The HTTP server; on a `worker` it has no routes and is never listened on. */
  app: FastifyInstance;
  system: JobSystem;
  blobs: BlobStore;
  /** Graceful: refuse new work, drain within `graceMs`, then close the server and the store. */
  shutdown: (graceMs: number) => Promise<void>;
}

/** The env the quickstart reads, with its defaults (sized for I/O-bound demo jobs). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): QuickstartConfig & { port: number; host: string; graceMs: number } {
  const role = (env['ROLE'] || 'all') as QuickstartRole;
  if (!quickstartRoles.includes(role)) throw new TypeError(`ROLE must be one of ${quickstartRoles.join(', ')} (got ${JSON.stringify(env['ROLE'])})`);
  return {
    role,
    port: intFrom(env['PORT'], 3000),
    host: env['HOST'] || '127.0.0.1',
    workers: intFrom(env['WORKERS'], 64),
    queueLimit: intFrom(env['QUEUE_LIMIT'], 10_000),
    redisUrl: env['REDIS_URL'] || undefined,
    redisPrefix: env['REDIS_PREFIX'] || undefined,
    redisShards: env['REDIS_SHARDS'] ? intFrom(env['REDIS_SHARDS'], 1) : undefined,
    tenantRate: env['TENANT_RATE']
      ? { max: intFrom(env['TENANT_RATE'], 1_000), timeWindowMs: intFrom(env['TENANT_RATE_WINDOW_MS'], 1_000) }
      : undefined,
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
  const role = config.role ?? 'all';
  if (role !== 'all' && !config.redisUrl) {
    throw new TypeError(`ROLE=${role} needs REDIS_URL: an api node and a worker node share jobs only through the store`);
  }
  const store = config.redisUrl ? await redisStore(config.redisUrl, config.redisPrefix, config.redisShards) : undefined;
  // A directory of our own (not the store's default temp dir) so that worker threads, which open
  // their own store, can be told where it is; removed at shutdown.
  const blobDir = await mkdtemp(join(tmpdir(), 'scalable-api-blobs-'));
  const blobs = await createFsBlobStore({ dir: blobDir });
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
    jobs: demoJobs(blobs, blobDir),
    blobs,
    // A producer node: it accepts, answers, cancels and streams; the worker tier claims the jobs.
    workers: role === 'api' ? 0 : config.workers,
    queue: { limit: config.queueLimit },
    logger: app.log,
    ...(store ? { store } : {}),
    ...(config.inspect ? { inspect: config.inspect } : {}),
  });
  await system.start();
  const quotaRedis = role !== 'worker' && config.tenantRate && config.redisUrl ? await redisClient(config.redisUrl) : undefined;
  if (role !== 'worker') {
    const rate = config.tenantRate ? { ...config.tenantRate, ...(quotaRedis ? { redis: quotaRedis } : {}) } : undefined;
    await app.register(jobsPlugin, {
      dashboard: config.dashboard ?? true,
      ...config.plugin,
      ...(rate ? { limits: { ...config.plugin?.limits, rate } } : {}),
      system,
      blobs,
      prefix: config.plugin?.prefix ?? '/jobs',
    });
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    (stopping ??= (async () => {
      try {
        if (role === 'worker') await system.stop({ drain: true, timeoutMs: graceMs });
        else await app.jobs.shutdown(graceMs);
      } finally {
        await blobs.close();
        await rm(blobDir, { recursive: true, force: true });
        await store?.close();
        quotaRedis?.disconnect();
      }
    })());
  return { role, app, system, blobs, shutdown };
}

/** The quota's own connection to the first server of REDIS_URL (imported only when used, like the store). */
async function redisClient(url: string): Promise<{ disconnect(): void }> {
  const specifier = 'ioredis';
  const { Redis } = (await import(specifier)) as { Redis: new (url: string) => { disconnect(): void } };
  return new Redis(url.split(',')[0]!.trim());
}

/**
 * Imported only when REDIS_URL is set, so the memory-store quickstart never loads ioredis. One
 * URL and no REDIS_SHARDS is the single-shard store; otherwise shards, over the listed servers in
 * turn (`a,b,c` with 6 shards: a b c a b c).
 */
async function redisStore(url: string, prefix: string | undefined, shards: number | undefined): Promise<JobStore> {
  const specifier = '@scalable-api/redis';
  const redis = (await import(specifier)) as {
    createRedisStore(options: { url: string; prefix?: string } | { shards: number | string[]; url?: string; prefix?: string }): JobStore;
  };
  const named = prefix ? { prefix } : {};
  const urls = url
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw new TypeError(`REDIS_URL names no server: ${JSON.stringify(url)}`);
  if (urls.length === 1) return redis.createRedisStore(shards === undefined ? { url: urls[0]!, ...named } : { url: urls[0]!, shards, ...named });
  const count = shards ?? urls.length;
  if (count < urls.length) throw new TypeError(`REDIS_SHARDS=${count} is fewer than the ${urls.length} servers in REDIS_URL`);
  return redis.createRedisStore({ shards: Array.from({ length: count }, (_, i) => urls[i % urls.length]!), ...named });
}

function intFrom(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new TypeError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}
