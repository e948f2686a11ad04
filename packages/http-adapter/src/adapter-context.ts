import { errorCodes, type BlobStore, type JobInfo, type JobSystem } from '@scalable-api/core';
import type { FastifyRequest } from 'fastify';
import type { SseSlots } from './events/sse-slots.js';
import type { JobEventHub } from './job-event-hub.js';
import type { JobsMetrics } from './jobs-metrics.js';
import type { QueueFullHint } from './queue-full-hint.js';
import { HttpProblemError } from './problem.js';
import type { SubmitCoalescer } from './submit-coalescer.js';
import type { TenantQuotaOptions } from './tenant-quota.js';

/** The limits after defaults: every bound the edge enforces. */
export interface ResolvedLimits {
  jsonBodyBytes: number;
  blobBytes: number;
  jsonDepth: number;
  maxWaitSeconds: number;
  retryAfterSeconds: number;
  overloadHoldMs: number;
  queueFullHoldMs: number;
  sseHeartbeatMs: number;
  sseMaxConnections: number;
  sseMaxPerTenant: number;
  sseTreeNodes: number;
  sseBufferBytes: number;
  idempotencyKeysInFlight: number;
  batchItems: number;
  batchBodyBytes: number;
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
  /** Undefined with `metrics: false`. */
  readonly metrics: JobsMetrics | undefined;
  readonly limits: ResolvedLimits;
  readonly authenticate: ((request: FastifyRequest) => Promise<string>) | undefined;
  readonly tenantOf: ((request: FastifyRequest) => string | undefined) | undefined;
  /** Per-tenant quotas (`limits.rate`), registered in the job routes' scope. */
  readonly quota: TenantQuotaOptions | undefined;
  /** Tenants whose callers may use the admin routes (schedules, paused job types). */
  readonly adminTenants: ReadonlySet<string>;
  /** Idempotency keys whose first request is still being accepted (scoped by tenant). */
  readonly inflight: Set<string>;
  readonly sse: SseSlots;
  /** `servers` of the OpenAPI document; undefined: the origin it was fetched from. */
  readonly servers: readonly { url: string; description?: string }[] | undefined;
  draining: boolean;
  /** The time the edge's holds read (`clock` of the plugin's options). */
  readonly now: () => number;
  /** When a submit was last refused for a bound; /ready reports overload for a while after. */
  lastOverloadAt: number;
  /** The store said the queue is at its bound: batches are refused before they are parsed, for a short while. */
  readonly queueFull: QueueFullHint;
  /** The log said once why a tenant's caller got a 404 for a job without a tenant. */
  warnedTenantless: boolean;
}

/**
 * Ids are nanoids from the core, `<shard>.<nanoid>` from a sharded store, and `<id>.webhook` for a
 * webhook's delivery job; anything else cannot be a job, so it is a 404 without a lookup.
 */
const jobIdPattern = /^[\w.-]{1,64}$/;

/**
 * The job with this id if the caller may see it. Another tenant's job is a 404 exactly like a
 * missing one, so ids cannot be probed across tenants. Children inherit the tenant of their root.
 * A job without a tenant (submitted in code without `{ tenant }`) is seen only by callers without
 * one; a tenant's caller gets the same 404, and the server's log says why, once per plugin.
 */
export async function loadJob(ctx: AdapterContext, request: FastifyRequest, id: string): Promise<JobInfo> {
  const record = jobIdPattern.test(id) ? await fromStore(ctx.system.get(id)) : undefined;
  if (record && ctx.authenticate === undefined && ctx.tenantOf === undefined) return record;
  const owner = record && (await ownerOf(ctx, record));
  if (record && owner === request.tenant) return record;
  if (record && owner === undefined && !ctx.warnedTenantless) {
    ctx.warnedTenantless = true;
    request.log.warn(
      { jobId: record.id },
      "a job without a tenant was asked for by a tenant's caller (404): submit it with { tenant } to make it theirs (docs/http-api.md, Tenants); logged once",
    );
  }
  throw new HttpProblemError('JOB_NOT_FOUND', `No job ${JSON.stringify(id.slice(0, 64))}.`);
}

async function ownerOf(ctx: AdapterContext, record: JobInfo): Promise<string | undefined> {
  const owner = record.meta?.['tenant'];
  if (owner !== undefined || record.rootId === record.id) return owner;
  return (await fromStore(ctx.system.get(record.rootId)))?.meta?.['tenant'];
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
