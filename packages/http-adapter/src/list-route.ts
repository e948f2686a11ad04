import { jobStatuses, maxListLimit, type JobStatus, type ListPage, type ListQuery } from '@scalable-api/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fromStore, type AdapterContext } from './adapter-context.js';
import { jobView, type JobView } from './job-view.js';

/** A page when the caller names no `limit`: small enough to render, big enough to scan. */
const defaultLimit = 50;

/** The listing's filters, as fastify validates them (400 MALFORMED_REQUEST otherwise) and the OpenAPI document states them. */
export const listQuerySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: [...jobStatuses], description: 'Only jobs in this status.' },
    name: { type: 'string', minLength: 1, maxLength: 200, description: 'Only jobs of this type.' },
    since: { type: 'string', format: 'date-time', description: 'Only jobs created at or after this time (ISO 8601).' },
    cursor: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'The `cursor` of the previous page, to go on from there; opaque (400 CURSOR_INVALID if it was not given by this server).',
    },
    limit: { type: 'integer', minimum: 1, maximum: maxListLimit, default: defaultLimit, description: 'At most this many jobs in the page.' },
  },
} as const;

/** What a page answers with; the document states it as the 200 schema. */
export const listPageSchema = {
  type: 'object',
  required: ['jobs'],
  properties: {
    jobs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'name', 'status', 'attempt', 'createdAt', 'rootId', 'children'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          status: { type: 'string', enum: [...jobStatuses] },
          attempt: { type: 'integer', minimum: 0 },
          createdAt: { type: 'string', format: 'date-time' },
          rootId: { type: 'string' },
        },
      },
    },
    cursor: { type: 'string', description: 'Present when there may be more: pass it as `cursor` for the next page.' },
  },
} as const;

export interface ListQueryString {
  status?: JobStatus | undefined;
  name?: string | undefined;
  since?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface ListPageView {
  jobs: JobView[];
  cursor?: string;
}

/**
 * `GET {prefix}?status=&name=&since=&cursor=&limit=`: the jobs the caller may see, in submission
 * order, a page at a time. Scoped like `GET {prefix}/:id`: with API keys (or a tenant function)
 * only the caller's tenant's jobs. A page may come back short, even empty, with a `cursor` (the
 * store examines a bounded number of jobs per call); no `cursor` means the walk is done.
 */
export function listRoute(app: FastifyInstance, ctx: AdapterContext): void {
  app.get<{ Querystring: ListQueryString }>(
    '/',
    {
      prefixTrailingSlash: 'no-slash',
      schema: { querystring: listQuerySchema },
      config: {
        openapi: {
          summary: 'The jobs, in submission order, filtered, a page at a time (the next with the page’s cursor)',
          tags: ['jobs'],
          responses: { 200: 'A page of jobs', 400: 'A filter or cursor that is not valid', 401: 'Missing or invalid credentials' },
          schemas: { 200: listPageSchema },
        },
      },
    },
    async (request, reply) => {
      const page = await listVisible(ctx, request, request.query);
      const body: ListPageView = { jobs: page.jobs.map(jobView) };
      if (page.cursor !== undefined) body.cursor = page.cursor;
      return reply.header('cache-control', 'no-store').send(body);
    },
  );
}

/**
 * A page of the jobs the caller may see (the listing route's and the dashboard's): the store's
 * listing scoped to the caller's tenant. Without a tenant, a scoped caller sees only jobs without
 * one (as GET /:id does): the store cannot filter on an absent tenant, so those are picked here,
 * the page shorter.
 */
export async function listVisible(ctx: AdapterContext, request: FastifyRequest, query: ListQueryString): Promise<ListPage> {
  const page = await fromStore(ctx.system.list(storeQuery(ctx, request, query)));
  const scoped = ctx.authenticate !== undefined || ctx.tenantOf !== undefined;
  if (!scoped || request.tenant !== undefined) return page;
  return { ...page, jobs: page.jobs.filter((r) => r.meta?.['tenant'] === undefined) };
}

function storeQuery(ctx: AdapterContext, request: FastifyRequest, query: ListQueryString): ListQuery {
  const out: ListQuery = { limit: query.limit };
  if (query.status !== undefined) out.status = query.status;
  if (query.name !== undefined) out.name = query.name;
  if (query.since !== undefined) out.since = Date.parse(query.since);
  if (query.cursor !== undefined) out.cursor = query.cursor;
  if ((ctx.authenticate !== undefined || ctx.tenantOf !== undefined) && request.tenant !== undefined) out.tenant = request.tenant;
  return out;
}
