import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblemError } from './problem.js';

/**
 * Per-tenant request quotas at the HTTP edge (`limits.rate`): a fixed window of `max` requests
 * per `timeWindowMs` for each tenant (each IP without tenants), counted by `@fastify/rate-limit`.
 * With `redis` the counts live in Redis (one INCR + PEXPIRE script a request), so the quota holds
 * across every node sharing that Redis; without it each node counts on its own.
 */
export interface TenantQuotaOptions {
  /** Requests one tenant may make per window. */
  max: number;
  /** The window. Default 1,000 ms. */
  timeWindowMs?: number;
  /** An ioredis client (`new Redis(url)`): the quota holds across nodes. The caller owns and closes it. */
  redis?: unknown;
  /** Prefix of the counters' keys in Redis. Default `scalable-api:quota:`. */
  nameSpace?: string;
  /** Tenants tracked at once by the in-memory counter (no `redis`). Default 10,000. */
  maxClients?: number;
}

/**
 * Registers the quota in the job routes' scope, after the auth hook (an instance hook runs before
 * the route hooks the plugin adds), so the key is the authenticated tenant. A tenant past its
 * quota gets 429 RATE_LIMITED with Retry-After; the others are not touched.
 */
export async function registerTenantQuota(app: FastifyInstance, options: TenantQuotaOptions): Promise<void> {
  if (!(Number.isInteger(options.max) && options.max > 0)) throw new TypeError('jobsPlugin limits.rate: max must be a positive integer');
  // Loaded here, by the plugin of an app that sets quotas, not by every app that loads the plugin.
  const { default: rateLimit } = await import('@fastify/rate-limit');
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.timeWindowMs ?? 1_000,
    cache: options.maxClients ?? 10_000,
    ...(options.redis ? { redis: options.redis, nameSpace: options.nameSpace ?? 'scalable-api:quota:' } : {}),
    keyGenerator: (request: FastifyRequest) => (request.tenant === undefined ? `ip:${request.ip}` : `t:${request.tenant}`),
    // Redis unreachable: let requests through rather than refuse every tenant; the store's own
    // bounds still hold, and the job routes answer 503 if the store is the same Redis.
    skipOnError: true,
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new HttpProblemError('RATE_LIMITED', `This tenant made more than ${context.max} requests in the window; retry in ${seconds} s.`, {
        headers: { 'retry-after': String(seconds) },
      });
    },
  });
}
