import type { FastifyInstance } from 'fastify';
import { fromStore, type AdapterContext } from './adapter-context.js';
import type { RouteDoc } from './openapi.js';
import { problemErrorHandler } from './problem-error-handler.js';
import { sendProblem } from './problem.js';

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
    app.setErrorHandler(problemErrorHandler({ retryAfterSeconds: ctx.limits.retryAfterSeconds }));

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

    app.get('/metrics', doc('Prometheus text exposition', { 200: 'Metrics' }, 'text/plain'), async (_request, reply) => {
      const stats = await fromStore(ctx.system.stats());
      const body = ctx.metrics.render(stats, { sseConnections: ctx.sse.size, draining: ctx.draining });
      return reply.type('text/plain; version=0.0.4; charset=utf-8').header('cache-control', 'no-store').send(body);
    });
  };
}

function notReadyReason(ctx: AdapterContext): string | undefined {
  if (ctx.draining) return 'Shutting down: draining accepted work.';
  const health = ctx.system.health();
  if (health !== 'healthy') return `The job system is ${health}.`;
  if (Date.now() - ctx.lastOverloadAt < ctx.limits.overloadHoldMs) return 'Overloaded: the queue is at its bound.';
  return undefined;
}
