export { createOtelInstrumentation } from './otel-instrumentation.js';
export type { OtelInstrumentationOptions } from './otel-instrumentation.js';
export { contextFromMeta, traceMeta } from './trace-context.js';
