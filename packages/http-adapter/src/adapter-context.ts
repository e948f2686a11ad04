import { errorCodes, type BlobStore, type JobInfo, type JobSystem } from '@scalable-api/core';
import type { FastifyRequest } from 'fastify';
import type { SseSlots } from './events/sse-slots.js';
import type { JobEventHub } from './job-event-hub.js';
import type { JobsMetrics } from './jobs-metrics.js';
import { HttpProblemError } from './problem.js';
import type { RateLimiter } from './rate-limiter.js';
import type { SubmitCoalescer } from './submit-coalescer.js';

/** The limits after defaults: every bound the edge enforces. */
export interface ResolvedLimits {
  jsonBodyBytes: number;
  blobBytes: number;
  jsonDepth: number;
  maxWaitSeconds: number;
  retryAfterSeconds: number;
  overloadHoldMs: number;
  sseHeartbeatMs: number;
  sseMaxConnections: number;
  sseMaxPerTenant: number;
  sseTreeNodes: number;
  sseBufferBytes: number;
  idempotencyKeysInFlight: number;
  reconcileMs: number;
}

/** What the routes share: one per registration of the plugin. */
export interface AdapterContext {
  readonly system: JobSystem;
  /** Where submits go: `system.submitByName`, grouped per event-loop turn. */
  readonly submits: SubmitCoalescer;
  /** The job routes' full path prefix, including any prefix of the scope the plugin is registered in. */
  prefix: string;
  readonly blobs: BlobStore;
  readonly hub: JobEventHub;
  readonly metrics: JobsMetrics;
  readonly limits: ResolvedLimits;
  readonly authenticate: ((request: FastifyRequest) => Promise<string>) | undefined;
  readonly tenantOf: ((request: FastifyRequest) => string | undefined) | undefined;
  readonly rateLimiter: RateLimiter | undefined;
  /** Idempotency keys whose first request is still being accepted (scoped by tenant). */
  readonly inflight: Set<string>;
  readonly sse: SseSlots;
  /** `servers` of the OpenAPI document; undefined: the origin it was fetched from. */
  readonly servers: readonly { url: string; description?: string }[] | undefined;
  draining: boolean;
  /** When a submit was last refused for a bound; /ready reports overload for a while after. */
  lastOverloadAt: number;
}

/** Ids are nanoids from the core; anything else cannot be a job, so it is a 404 without a lookup. */
const jobIdPattern = /^[\w-]{1,64}$/;

/**
 * The job with this id if the caller may see it. Another tenant's job is a 404 exactly like a
 * missing one, so ids cannot be probed across tenants. Children inherit the tenant of their root.
 */
export async function loadJob(ctx: AdapterContext, request: FastifyRequest, id: string): Promise<JobInfo> {
  const record = jobIdPattern.test(id) ? await fromStore(ctx.system.get(id)) : undefined;
  if (!record || !(await visibleTo(ctx, record, request.tenant))) {
    throw new HttpProblemError('JOB_NOT_FOUND', `No job ${JSON.stringify(id.slice(0, 64))}.`);
  }
  return record;
}

async function visibleTo(ctx: AdapterContext, record: JobInfo, tenant: string | undefined): Promise<boolean> {
  if (ctx.authenticate === undefined && ctx.tenantOf === undefined) return true;
  let owner = record.meta?.['tenant'];
  if (owner === undefined && record.rootId !== record.id) owner = (await fromStore(ctx.system.get(record.rootId)))?.meta?.['tenant'];
  return owner === tenant;
}

/**
 * A read of the store that fails without a code (a lost Redis connection, a closed store) is the
 * store being unavailable, not a bug in the adapter: 503 with Retry-After rather than 500.
 */
export async function fromStore<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && Object.hasOwn(errorCodes, code)) throw error;
    throw new HttpProblemError('STORE_UNAVAILABLE', 'The job store could not be reached.', { cause: error });
  }
}
