import { createTraceState, isSpanContextValid, trace, type Context, type SpanContext } from '@opentelemetry/api';

/**
 * W3C Trace Context in job meta, under the same keys as the HTTP headers: `traceparent` and
 * `tracestate`. Written here rather than through the global propagator so a job's parent link
 * survives whatever propagator (or none) the process registered, and so the adapter can copy the
 * request's header into meta without depending on OpenTelemetry at all.
 */
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The meta entries that carry `span` to another job; `undefined` for an invalid (no-op) span.
 *
 * @example
 * const meta = traceMeta(trace.getActiveSpan()!.spanContext()); // { traceparent: '00-…-…-01' }
 * await system.submit(resize, input, { meta });
 */
export function traceMeta(span: SpanContext): Record<string, string> | undefined {
  if (!isSpanContextValid(span)) return undefined;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const meta: Record<string, string> = { traceparent: `00-${span.traceId}-${span.spanId}-${flags}` };
  const state = span.traceState?.serialize();
  if (state) meta['tracestate'] = state;
  return meta;
}

/**
 * `base` with the remote parent found in `meta`, or `base` itself when meta carries none (or a
 * malformed one).
 *
 * @example
 * const parent = contextFromMeta(ROOT_CONTEXT, (await system.get(id))?.meta);
 * tracer.startSpan('follow-up', {}, parent).end();
 */
export function contextFromMeta(base: Context, meta: Record<string, string> | undefined): Context {
  const match = traceparentPattern.exec(meta?.['traceparent'] ?? '');
  if (!match) return base;
  const parent: SpanContext = { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true };
  const state = meta?.['tracestate'];
  if (state) parent.traceState = createTraceState(state);
  if (!isSpanContextValid(parent)) return base;
  return trace.setSpanContext(base, parent);
}
