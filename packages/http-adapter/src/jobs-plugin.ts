import { createFsBlobStore, isTenant, releaseBlobsOnDrop, type BlobStore, type Clock, type JobSystem } from '@scalable-api/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AdapterContext, ResolvedLimits } from './adapter-context.js';
import { createAuthenticator, type AuthOptions } from './auth-hook.js';
import { dashboardRoutes, type DashboardOptions } from './dashboard/dashboard-routes.js';
import { jobRoutes } from './job-routes.js';
import { JobEventHub } from './job-event-hub.js';
import { SseSlots } from './events/sse-slots.js';
import type { MetricsOptions } from './jobs-metrics.js';
import { registerOpenApi } from './openapi.js';
import { opsRoutes } from './ops-routes.js';
import { HttpProblemError } from './problem.js';
import { QueueFullHint } from './queue-full-hint.js';
import { SubmitCoalescer } from './submit-coalescer.js';
import type { TenantQuotaOptions } from './tenant-quota.js';

/** Every bound of the HTTP edge; each has a default. */
export interface JobsLimits {
  /** JSON bodies. Default 1 MiB. */
  jsonBodyBytes?: number;
  /** Binary bodies streamed to the blob store. Default 100 MiB. */
  blobBytes?: number;
  /** Nesting of JSON bodies. Default 64. */
  jsonDepth?: number;
  /** Longest `Prefer: wait=N` honoured. Default 30 s. */
  maxWaitSeconds?: number;
  /** `Retry-After` on 503s. Default 1 s. */
  retryAfterSeconds?: number;
  /** /ready reports overload for this long after a submit was refused with QUEUE_FULL. Default 1 s. */
  overloadHoldMs?: number;
  /**
   * After the store refused a submit at the queue bound, batch submits are answered 503
   * QUEUE_FULL for this long without their body being parsed or the store asked; then one batch
   * at a time asks the store until one gets in. 0: every batch asks the store. Default 100 ms.
   */
  queueFullHoldMs?: number;
  /**
   * Event streams and `Prefer: wait` hear jobs through the store's signals, which are hints: this
   * often (and after a subscriber reconnect) every watched job is re-read from the store in one
   * batched call, so a lost message delays an answer by at most this much. Default 5 s.
   */
  reconcileMs?: number;
  /** Batch submits (`POST {prefix}/{job}/batch`). */
  batch?: {
    /** Items one request may carry; more is 413 BATCH_TOO_LARGE. Default 1,000 (the core's `queue.maxBatch` bounds it too). */
    maxItems?: number;
    /** Bytes of one batch body (JSON or NDJSON). Default 8 MiB. */
    bodyBytes?: number;
  };
  /**
   * Per-tenant quotas (tenant, else IP): `max` requests per `timeWindowMs` on the job routes, past
   * it 429 RATE_LIMITED + Retry-After to that tenant only. With `redis` (an ioredis client) the
   * quota holds across every node sharing it (docs/flow-control.md). Off by default.
   */
  rate?: TenantQuotaOptions;
  sse?: {
    /** Comment lines keep proxies from closing idle streams. Default 15 s. */
    heartbeatMs?: number;
    /** Open event streams on this node. Default 10,000. */
    maxConnections?: number;
    /** Open event streams of one tenant (of one IP without tenants), so one client cannot take every slot. Default 1,000. */
    maxPerTenant?: number;
    /** Jobs a `?tree=1` stream follows (the first ones in tree order). Default 2,000. */
    treeNodes?: number;
    /** Bytes queued for one slow reader before it is cut off (it resumes with Last-Event-ID). Default 1 MiB. */
    bufferBytes?: number;
  };
}

export interface JobsPluginOptions {
  system: JobSystem;
  /** Where the job routes live. Default `/jobs`. */
  prefix?: string;
  /** Require credentials on the job routes; the tenant comes from them. */
  auth?: AuthOptions;
  /** The tenant of a request when there is no `auth` (e.g. set by a gateway in front). */
  tenant?: (request: FastifyRequest) => string | undefined;
  /**
   * Tenants whose callers administer the whole system: `{prefix}/schedules` and `{prefix}/paused`.
   * With `auth` or `tenant` set, any other caller gets 403 FORBIDDEN there; without either,
   * every route is open and so are these. Default none.
   */
  adminTenants?: readonly string[];
  limits?: JobsLimits;
  /** Where binary bodies go. Default: files in a fresh temp directory, removed on close. */
  blobs?: BlobStore;
  /** Where /health, /ready and /metrics live; `false` to leave them out. Default the root. */
  ops?: { prefix?: string } | false;
  /**
   * `/metrics` through prom-client: `{ registry }` to add the plugin's metrics to your own
   * registry (and serve your metrics with them), `{ defaultMetrics: false }` to leave out the
   * process metrics, `false` for no metrics at all (no `/metrics`, nothing counted).
   */
  metrics?: MetricsOptions | false;
  /** For the OpenAPI document. (Which jobs take binary bodies is the jobs' own `accepts`.) */
  info?: { title?: string; version?: string };
  /** The OpenAPI document's `servers`. Default: the origin the document was fetched from. */
  servers?: readonly { url: string; description?: string }[];
  /** A live dashboard at `{prefix}/dashboard`, behind the same auth as the job routes. Default off. */
  dashboard?: boolean | DashboardOptions;
  /** What the edge's own holds (`overloadHoldMs`, `queueFullHoldMs`) read the time from. Default `Date.now`. */
  clock?: Pick<Clock, 'now'>;
}

/** What the plugin decorates the fastify instance with (`app.jobs`). */
export interface JobsDecorator {
  readonly system: JobSystem;
  readonly blobs: BlobStore;
  readonly prefix: string;
  /** True once `drain()` was called: POST answers 503 SHUTTING_DOWN and /ready 503. */
  readonly draining: boolean;
  /** Stops taking new jobs at the edge (first step of a graceful shutdown). */
  drain(): void;
  /**
   * The whole graceful shutdown, in order: refuse new jobs (503), let the job system finish
   * what it holds within `graceMs` and hand back the rest, then close the server. Calling it
   * again returns the same promise.
   */
  shutdown(graceMs: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobsDecorator;
  }
  interface FastifyRequest {
    /** The caller's tenant, set by the jobs plugin's auth (or `tenant` option) on its routes. */
    tenant: string | undefined;
  }
}

async function plugin(app: FastifyInstance, options: JobsPluginOptions): Promise<void> {
  if (typeof options?.system?.submitByName !== 'function') throw new TypeError('jobsPlugin: options.system must be a JobSystem');
  const prefix = normalisePrefix(options.prefix ?? '/jobs');
  const limits = resolveLimits(options.limits ?? {});
  const ownsBlobs = options.blobs === undefined;
  const clock = options.clock ?? Date;
  const blobs = options.blobs ?? (await createFsBlobStore());
  const ctx: AdapterContext = {
    system: options.system,
    submits: new SubmitCoalescer(options.system),
    prefix,
    blobs,
    hub: new JobEventHub(options.system.store, {
      reconcileMs: limits.reconcileMs,
      onError: (error) => app.log.warn({ err: error }, 'could not reconcile watched jobs'),
    }),
    // prom-client (and the OpenTelemetry API it loads) only for an app that serves /metrics.
    metrics:
      options.metrics === false
        ? undefined
        : new (await import('./jobs-metrics.js')).JobsMetrics(
            { stats: () => options.system.stats(), sseConnections: () => ctx.sse.size, draining: () => ctx.draining },
            options.metrics,
          ),
    limits,
    authenticate: options.auth ? createAuthenticator(options.auth) : undefined,
    tenantOf: options.tenant ? tenantResolver(options.tenant) : undefined,
    quota: options.limits?.rate,
    adminTenants: new Set(options.adminTenants ?? []),
    inflight: new Set(),
    sse: new SseSlots(limits.sseMaxConnections, limits.sseMaxPerTenant),
    servers: options.servers,
    draining: false,
    now: () => clock.now(),
    lastOverloadAt: 0,
    queueFull: new QueueFullHint(limits.queueFullHoldMs, () => clock.now()),
    warnedTenantless: false,
  };

  // One store listener feeds the event streams, the metrics and the queue-full hint (a job that
  // starts or is cancelled leaves the queue); uploads are referenced from `meta.blob` and released
  // when the store drops their job after its retention.
  const unsubscribeEvents = options.system.store.subscribe((signal) => {
    if (signal.type === 'job.event') {
      const type = signal.event.type;
      if (type === 'job.started' || type === 'job.cancelled') ctx.queueFull.freed();
      ctx.metrics?.observe(signal.event);
      ctx.hub.publish(signal.event);
    } else if (signal.type === 'signals.resumed') void ctx.hub.reconcile();
  });
  const unsubscribeBlobs = releaseBlobsOnDrop(options.system.store, blobs, {
    metaKey: 'blob',
    onError: (error, blob) => app.log.warn({ err: error, blob }, 'could not remove a blob'),
  });

  const decorator: JobsDecorator = {
    system: options.system,
    blobs,
    get prefix() {
      return ctx.prefix;
    },
    get draining() {
      return ctx.draining;
    },
    drain() {
      ctx.draining = true;
    },
    shutdown(graceMs) {
      stopping ??= (async () => {
        ctx.draining = true;
        try {
          await options.system.stop({ drain: true, timeoutMs: graceMs });
        } finally {
          await app.close();
        }
      })();
      return stopping;
    },
  };
  let stopping: Promise<void> | undefined;
  app.decorate('jobs', decorator);
  if (!app.hasRequestDecorator('tenant')) app.decorateRequest('tenant', undefined);

  const info = { title: options.info?.title ?? 'scalable-api jobs', version: options.info?.version ?? '0.1.0' };
  // One encapsulated scope around both route groups: the OpenAPI document (@fastify/swagger,
  // registered here) sees exactly the plugin's routes, and nothing here touches the host app's.
  const ops = options.ops;
  await app.register(async (scope) => {
    await registerOpenApi(scope, { ...info, servers: options.servers, auth: options.auth });
    await scope.register(jobRoutes(ctx), { prefix });
    if (options.dashboard)
      await scope.register(dashboardRoutes(ctx, options.dashboard === true ? {} : options.dashboard), { prefix: `${prefix}/dashboard` });
    if (ops !== false) await scope.register(opsRoutes(ctx), { prefix: normalisePrefix(ops?.prefix ?? '') });
  });

  // Open event streams are hijacked responses fastify does not track; end them or close() would
  // wait for them. They can resume elsewhere with Last-Event-ID.
  app.addHook('preClose', async () => {
    ctx.draining = true;
    for (const res of [...ctx.sse]) res.end();
  });
  app.addHook('onClose', async () => {
    unsubscribeEvents();
    ctx.metrics?.close();
    ctx.hub.close();
    unsubscribeBlobs();
    if (ownsBlobs) await blobs.close();
  });
}

function resolveLimits(limits: JobsLimits): ResolvedLimits {
  return {
    jsonBodyBytes: limits.jsonBodyBytes ?? 1_048_576,
    blobBytes: limits.blobBytes ?? 100 * 1_048_576,
    jsonDepth: limits.jsonDepth ?? 64,
    maxWaitSeconds: limits.maxWaitSeconds ?? 30,
    retryAfterSeconds: limits.retryAfterSeconds ?? 1,
    overloadHoldMs: limits.overloadHoldMs ?? 1_000,
    queueFullHoldMs: limits.queueFullHoldMs ?? 100,
    sseHeartbeatMs: limits.sse?.heartbeatMs ?? 15_000,
    sseMaxConnections: limits.sse?.maxConnections ?? 10_000,
    sseMaxPerTenant: limits.sse?.maxPerTenant ?? 1_000,
    sseTreeNodes: limits.sse?.treeNodes ?? 2_000,
    sseBufferBytes: limits.sse?.bufferBytes ?? 1_048_576,
    idempotencyKeysInFlight: 100_000,
    batchItems: limits.batch?.maxItems ?? 1_000,
    batchBodyBytes: limits.batch?.bodyBytes ?? 8 * 1_048_576,
    reconcileMs: limits.reconcileMs ?? 5_000,
  };
}

function tenantResolver(resolve: (request: FastifyRequest) => string | undefined) {
  return (request: FastifyRequest) => {
    const tenant = resolve(request);
    if (tenant !== undefined && !isTenant(tenant)) throw new HttpProblemError('MALFORMED_REQUEST', 'The tenant of this request is malformed.');
    return tenant;
  };
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/**
 * The REST face of a job system: submit, inspect, cancel and stream jobs, plus health,
 * readiness and metrics. Errors are RFC 9457 problems with the core's stable codes.
 *
 * @example
 * const app = Fastify({ requestTimeout: 30_000, connectionTimeout: 10_000 });
 * await app.register(jobsPlugin, { system, prefix: '/jobs', auth: { keys: [{ key: process.env.API_KEY!, tenant: 'acme' }] } });
 */
export const jobsPlugin = fp(plugin, { name: '@scalable-api/http-adapter', fastify: '5.x' });
