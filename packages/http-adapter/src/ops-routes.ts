import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdapterContext } from './adapter-context.js';
import type { RouteDoc } from './openapi.js';
import { problemErrorHandler } from './problem-error-handler.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The ops paths' other methods: a 405 even when fastify refuses the request before the handler. */
    methodNotAllowed?: boolean;
  }
}

const doc = (summary: string, responses: Record<number, string>, produces?: string): { config: { openapi: RouteDoc } } => ({
  config: { openapi: { summary, tags: ['operations'], responses, ...(produces ? { produces } : {}) } },
});

/**
 * Liveness, readiness and metrics, for load balancers and Prometheus. Not authenticated: they
 * reveal counts, never jobs. Readiness is what a balancer acts on, so it is false whenever a new
 * job would be refused: draining, stopped, unhealthy, or a queue bound hit in the last moments.
 */
export function opsRoutes(ctx: AdapterContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    const notAllowed = (request: FastifyRequest, reply: FastifyReply) => {
      ctx.metrics?.countProblem('METHOD_NOT_ALLOWED');
      return sendProblem(request, reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here.`, { headers: { allow: 'GET, HEAD' } });
    };
    const notFound = (request: FastifyRequest, reply: FastifyReply) => {
      ctx.metrics?.countProblem('ROUTE_NOT_FOUND');
      return sendProblem(request, reply, 'ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?', 1)[0]!.slice(0, 200)}.`);
    };
    const handleError = problemErrorHandler({ retryAfterSeconds: ctx.limits.retryAfterSeconds, onNotFound: notFound });
    // fastify refuses a `QUERY` without a Content-Type before the route's handler runs: on the
    // 405 routes that is still a 405.
    app.setErrorHandler((error: Error, request, reply) =>
      request.routeOptions.config.methodNotAllowed ? notAllowed(request, reply) : handleError(error, request, reply),
    );
    // The root's 404s belong to the host app (`problemNotFound` makes them problems too); under a
    // prefix of their own, every unknown path is ours.
    if (app.prefix !== '') app.setNotFoundHandler(notFound);

    app.get('/health', doc('Liveness: 503 only when the system gave up (unhealthy)', { 200: 'Alive', 503: 'Unhealthy' }), async (request, reply) => {
      const health = ctx.system.health();
      if (health === 'unhealthy') return sendProblem(request, reply, 'UNHEALTHY', 'Workers crashed past the restart intensity.');
      return reply.header('cache-control', 'no-store').send({ status: 'ok', health });
    });

    app.get(
      '/ready',
      doc('Readiness: 503 while shutting down, overloaded or unhealthy', { 200: 'Taking work', 503: 'Not taking work' }),
      async (request, reply) => {
        const reason = notReadyReason(ctx);
        if (reason) return sendProblem(request, reply, 'NOT_READY', reason, { retryAfterSeconds: ctx.limits.retryAfterSeconds });
        return reply.header('cache-control', 'no-store').send({ status: 'ready' });
      },
    );

    const metrics = ctx.metrics;
    if (metrics) {
      // prom-client's exposition; a store that does not answer is a 503 (STORE_UNAVAILABLE).
      app.get('/metrics', doc('Prometheus text exposition', { 200: 'Metrics' }, 'text/plain'), async (_request, reply) => {
        const body = await metrics.render();
        return reply.type(metrics.contentType).header('cache-control', 'no-store').send(body);
      });
    }

    // Another method on an ops path is a 405 with Allow, and a path below one a 404, both as
    // problems. OPTIONS stays with the host app (a CORS plugin answers preflights).
    const otherMethods = app.supportedMethods.filter((method) => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS');
    for (const path of metrics ? ['/health', '/ready', '/metrics'] : ['/health', '/ready']) {
      app.route({ method: otherMethods, url: path, config: { methodNotAllowed: true }, bodyLimit: 1024, handler: notAllowed });
      app.route({ method: [...otherMethods, 'GET'], url: `${path}/*`, bodyLimit: 1024, handler: notFound });
    }
  };
}

function notReadyReason(ctx: AdapterContext): string | undefined {
  if (ctx.draining) return 'Shutting down: draining accepted work.';
  // The node's live state (an @xstate/store store the runtime keeps): read, never polled.
  const { health } = ctx.system.live.get().context;
  if (health !== 'healthy') return `The job system is ${health}.`;
  if (ctx.now() - ctx.lastOverloadAt < ctx.limits.overloadHoldMs) return 'Overloaded: the queue is at its bound.';
  return undefined;
}
