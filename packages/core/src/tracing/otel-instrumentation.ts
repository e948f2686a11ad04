import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { AttemptInstrument, Instrumentation } from '../instrumentation.js';
import type { ClaimedJob, Settlement } from '../store/job-store.js';
import { contextFromMeta, traceMeta } from './trace-context.js';

export interface OtelInstrumentationOptions {
  /** Default: `trace.getTracer('@scalable-api/core')` from the global provider. */
  tracer?: Tracer;
  /**
   * Also inject/extract with this propagator (e.g. `propagation` for B3 or baggage). W3C
   * `traceparent`/`tracestate` are always carried.
   */
  propagator?: TextMapPropagator;
  /** The span's name. Default `job <name>`. */
  spanName?: (job: ClaimedJob) => string;
}

/**
 * OpenTelemetry for the job runtime: one span per attempt, parented to the context the job was
 * created in. A job submitted inside a traced HTTP request continues that trace; a child spawned
 * by a job runs under its parent's attempt span, on whichever node claims it, because the
 * context travels in the job's meta (`traceparent`) through the store.
 *
 * Needs `@opentelemetry/api` (an optional peer) and, for spans to go anywhere, an SDK with a
 * context manager (`NodeSDK`, or `BasicTracerProvider` + `AsyncLocalStorageContextManager`).
 *
 * @example
 * import { createOtelInstrumentation } from '@scalable-api/core/otel';
 * const system = createJobSystem({ jobs, workers: 8, instrumentation: createOtelInstrumentation() });
 */
export function createOtelInstrumentation(options: OtelInstrumentationOptions = {}): Instrumentation {
  const tracer = options.tracer ?? trace.getTracer('@scalable-api/core');
  const spanName = options.spanName ?? ((job: ClaimedJob) => `job ${job.name}`);
  const propagator = options.propagator;

  function parentContext(job: ClaimedJob): Context {
    let parent = ROOT_CONTEXT;
    if (propagator && job.meta) parent = propagator.extract(parent, job.meta, metaGetter);
    return contextFromMeta(parent, job.meta);
  }

  return {
    startAttempt(job): AttemptInstrument {
      const parent = parentContext(job);
      const span = tracer.startSpan(
        spanName(job),
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'job.id': job.id,
            'job.name': job.name,
            'job.attempt': job.attempt,
            'job.root_id': job.rootId,
            ...(job.parentId !== undefined ? { 'job.parent_id': job.parentId } : {}),
          },
        },
        parent,
      );
      const active = trace.setSpan(parent, span);
      return {
        run: (fn) => context.with(active, fn),
        end: (settlement) => endSpan(span, settlement),
      };
    },
    propagate() {
      const active = context.active();
      const span = trace.getSpanContext(active);
      const meta = span ? traceMeta(span) : undefined;
      if (!propagator) return meta;
      const carrier: Record<string, string> = {};
      propagator.inject(active, carrier, metaSetter);
      return meta || Object.keys(carrier).length > 0 ? { ...carrier, ...meta } : undefined;
    },
  };
}

function endSpan(span: ReturnType<Tracer['startSpan']>, settlement: Settlement | undefined): void {
  if (!settlement) {
    // The lease was lost: another node may run the job again; this attempt records nothing.
    span.setAttribute('job.outcome', 'lease_lost');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'lease lost' });
  } else {
    span.setAttribute('job.outcome', settlement.outcome);
    if (settlement.outcome === 'failed' || settlement.outcome === 'retry') {
      span.setAttribute('error.type', settlement.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: settlement.error.message });
    } else if (settlement.outcome === 'cancelled') {
      span.setAttribute('error.type', settlement.error.code);
    } else {
      span.setStatus({ code: SpanStatusCode.OK });
    }
  }
  span.end();
}

const metaGetter = {
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
  get: (carrier: Record<string, string>, key: string) => carrier[key],
};

const metaSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
};
