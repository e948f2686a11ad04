import type { FastifyRequest } from 'fastify';

const traceparentPattern = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** W3C caps tracestate at 32 list members; 512 bytes is what most tracers propagate. */
const tracestatePattern = /^[\x20-\x7e]{1,512}$/;

/**
 * The request's W3C trace context (`traceparent`, `tracestate`), to travel in the job's meta.
 * Copied per request, not read from an active context at submit time: submits of one event-loop
 * turn are coalesced into one batch, which runs in the context of whichever request came first.
 * A tracer (`createOtelInstrumentation` from `@scalable-api/core/otel`) parents the job's span to
 * it; without one the two strings are just carried.
 */
export function traceMetaOf(request: FastifyRequest): Record<string, string> | undefined {
  const traceparent = request.headers['traceparent'];
  if (typeof traceparent !== 'string' || !traceparentPattern.test(traceparent) || traceparent.startsWith('00-00000000000000000000000000000000'))
    return undefined;
  const meta: Record<string, string> = { traceparent };
  const tracestate = request.headers['tracestate'];
  if (typeof tracestate === 'string' && tracestatePattern.test(tracestate)) meta['tracestate'] = tracestate;
  return meta;
}
