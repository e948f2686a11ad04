import { context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll } from 'vitest';

/**
 * A real OpenTelemetry SDK tracer whose finished spans stay in memory, with async-context
 * propagation enabled for the test file (so a span started in a request handler parents what
 * the job does). Call it once at the top of a test file; read `exporter.getFinishedSpans()`.
 *
 * @example
 * const { tracer, exporter } = useInMemoryTracing();
 * const system = createJobSystem({ jobs, workers: 2, instrumentation: createOtelInstrumentation({ tracer }) });
 */
export function useInMemoryTracing(): { tracer: Tracer; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');
  const contextManager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    contextManager.enable();
    context.setGlobalContextManager(contextManager);
  });
  afterAll(() => {
    context.disable();
  });
  return { tracer, exporter };
}
