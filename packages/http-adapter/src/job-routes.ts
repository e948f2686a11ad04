import { isTerminal, type JobStatus } from '@scalable-api/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromStore, loadJob, type AdapterContext } from './adapter-context.js';
import { eventsHandler } from './events/events-route.js';
import { jobView, treeView } from './job-view.js';
import { jsonBodyParser } from './json-body-parser.js';
import { listRoute } from './list-route.js';
import { openApiDocument, type RouteDoc } from './openapi.js';
import { HttpProblemError, sendProblem, type ProblemCode } from './problem.js';
import { problemErrorHandler } from './problem-error-handler.js';
import { batchRoutes } from './batch-route.js';
import { flowRoutes } from './flow-routes.js';
import { scheduleRoutes } from './schedule-routes.js';
import { submitRoutes } from './submit-routes.js';
import { registerTenantQuota } from './tenant-quota.js';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * The job routes, registered in their own encapsulated context under the prefix: their parsers,
 * hooks, error and not-found handlers do not leak into the host app, and the host's do not
 * change how they answer.
 */
export function jobRoutes(ctx: AdapterContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    // The plugin may sit inside a scope with a prefix of its own (`/v1`): Location headers and
    // the 405 lookup need the full one.
    ctx.prefix = app.prefix;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonBodyParser(app, ctx.limits.jsonDepth));

    app.setErrorHandler(
      problemErrorHandler({
        retryAfterSeconds: ctx.limits.retryAfterSeconds,
        ...(ctx.metrics ? { onProblem: (code: ProblemCode) => ctx.metrics!.countProblem(code) } : {}),
        onNotFound: (request, reply) => notFound(app, ctx, request, reply),
      }),
    );
    app.setNotFoundHandler((request, reply) => notFound(app, ctx, request, reply));

    // Only installed when configured: a hook on every request costs a promise each, and intake
    // throughput is the number this edge is judged by.
    if (ctx.authenticate || ctx.tenantOf) {
      app.addHook('onRequest', async (request) => {
        if (ctx.authenticate) request.tenant = await ctx.authenticate(request);
        else if (ctx.tenantOf) request.tenant = ctx.tenantOf(request);
      });
    }
    // After the auth hook, before any route: its route hooks run after the instance's, so the
    // quota is counted per authenticated tenant.
    if (ctx.quota) await registerTenantQuota(app, ctx.quota);
    const metrics = ctx.metrics;
    if (metrics) {
      app.addHook('onResponse', (request, reply, done) => {
        metrics.countResponse(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
        done();
      });
    }

    // Derived from the routes' schemas by @fastify/swagger (openapi.ts), built on first request.
    app.get(
      '/openapi.json',
      { config: { openapi: { summary: 'This document', tags: ['meta'], responses: { 200: 'OpenAPI 3.1' } } } },
      async (request) => openApiDocument(app, request, ctx.servers),
    );

    // POST /{job} for each job, with its schema; binary parsers for what the jobs accept.
    await app.register(submitRoutes(ctx));
    // POST /{job}/batch: many jobs of one type in one request (JSON array or NDJSON).
    await app.register(batchRoutes(ctx));
    await app.register(scheduleRoutes(ctx));
    await app.register(flowRoutes(ctx));

    const idDoc = (summary: string, responses: Record<number, string>, produces?: string): { config: { openapi: RouteDoc } } => ({
      config: {
        openapi: {
          summary,
          tags: ['jobs'],
          responses: { ...responses, 401: 'Missing or invalid credentials', 404: 'No such job (JOB_NOT_FOUND)' },
          ...(produces ? { produces } : {}),
        },
      },
    });

    listRoute(app, ctx);

    app.get<{ Params: { id: string } }>(
      '/:id',
      idDoc('A job: status, progress, attempts, timestamps, result or error', { 200: 'The job' }),
      async (request: IdRequest, reply) => {
        const record = await loadJob(ctx, request, request.params.id);
        return reply.header('cache-control', 'no-store').send(jobView(record));
      },
    );

    app.get<{ Params: { id: string } }>(
      '/:id/tree',
      idDoc('The whole job tree below this job', { 200: 'The tree' }),
      async (request: IdRequest, reply) => {
        await loadJob(ctx, request, request.params.id);
        const tree = await fromStore(ctx.system.tree(request.params.id, { maxNodes: 10_000 }));
        if (!tree) throw new HttpProblemError('JOB_NOT_FOUND', 'The job is gone.');
        return reply.header('cache-control', 'no-store').send(treeView(tree));
      },
    );

    app.delete<{ Params: { id: string } }>(
      '/:id',
      // A cancel carries no body; a small limit keeps a large one from being read at all.
      { ...idDoc('Cancel a job and its subtree', { 200: 'Cancelled, or already settled', 202: 'Running: cancellation requested' }), bodyLimit: 1024 },
      async (request: IdRequest, reply) => {
        const { id } = request.params;
        const before = await loadJob(ctx, request, id);
        const outcome = await fromStore(ctx.system.cancel(id));
        if (outcome === 'not_found') throw new HttpProblemError('JOB_NOT_FOUND', 'The job is gone.');
        return reply
          .code(outcome === 'cancelling' ? 202 : 200)
          .send({ id, outcome, status: await statusAfterCancel(ctx, id, outcome, before.status) });
      },
    );

    app.get<{ Params: { id: string }; Querystring: { tree?: string } }>(
      '/:id/events',
      idDoc(
        'Server-Sent Events of the job (with tree=1: of its whole tree), resumable with Last-Event-ID',
        {
          200: 'text/event-stream until the job (the tree) settles',
          204: 'The job settled and the reader has every event: do not reconnect',
          429: 'Too many streams of this tenant',
          503: 'Too many streams on this node',
        },
        'text/event-stream',
      ),
      eventsHandler(ctx),
    );
  };
}

/**
 * The status a cancel answers with, the same whichever store and node: it follows the store's
 * outcome, never a second read racing the owner. `cancelling` is a job (running, or a parent
 * ending) whose owner has yet to stop it: it keeps the status it had, even when the owner is this
 * very node and stops it before a second read would run (which made the memory store answer
 * `cancelled` where Redis answered `running`). `settled`: the job ended on its own first.
 */
async function statusAfterCancel(
  ctx: AdapterContext,
  id: string,
  outcome: 'cancelled' | 'cancelling' | 'settled',
  before: JobStatus,
): Promise<JobStatus> {
  if (outcome === 'cancelled') return 'cancelled';
  if (outcome === 'cancelling') return isTerminal(before) ? 'running' : before;
  if (isTerminal(before)) return before;
  return (await fromStore(ctx.system.get(id)))?.status ?? 'cancelled';
}

/** A 405 with Allow when the path exists under another method, else a 404; both as problems. */
function notFound(app: FastifyInstance, ctx: AdapterContext, request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?', 1)[0]!;
  const allow = ['GET', 'POST', 'DELETE'].filter((method) => method !== request.method && app.hasRoute({ method, url: routePattern(ctx, path) }));
  if (allow.length > 0) {
    ctx.metrics?.countProblem('METHOD_NOT_ALLOWED');
    return sendProblem(request, reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here.`, { headers: { allow: allow.join(', ') } });
  }
  ctx.metrics?.countProblem('ROUTE_NOT_FOUND');
  return sendProblem(request, reply, 'ROUTE_NOT_FOUND', `No route ${request.method} ${path.slice(0, 200)}.`);
}

/** Maps a concrete path under the prefix to the route pattern that would serve it. */
function routePattern(ctx: AdapterContext, path: string): string {
  const rest = path.slice(ctx.prefix.length).split('/').filter(Boolean);
  if (rest.length === 1) return rest[0] === 'openapi.json' ? `${ctx.prefix}/openapi.json` : `${ctx.prefix}/:id`;
  if (rest.length === 2 && (rest[1] === 'tree' || rest[1] === 'events')) return `${ctx.prefix}/:id/${rest[1]}`;
  if (rest.length === 2 && rest[1] === 'batch') return `${ctx.prefix}/:name/batch`;
  return path;
}
