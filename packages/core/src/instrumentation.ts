import type { ClaimedJob, Settlement } from './store/job-store.js';

/**
 * Hooks around job attempts, for tracing and metrics (an OpenTelemetry adapter plugs in here).
 * The runtime calls them on the hot path only when one is configured.
 */
export interface Instrumentation {
  /** An attempt starts on this node; the result wraps its logic and hears how it ended. */
  startAttempt(job: ClaimedJob): AttemptInstrument | undefined;
  /**
   * Meta to carry with a job submitted or spawned from the current context — e.g. a W3C
   * `traceparent`, so the child's attempt continues the trace of the code that created it,
   * even on another node.
   */
  propagate(): Record<string, string> | undefined;
}

export interface AttemptInstrument {
  /** Runs the job's logic inside the attempt's context (e.g. with its span active). */
  run<T>(fn: () => T): T;
  /** The attempt ended; `settlement` is undefined when it lost its lease and records nothing. */
  end(settlement: Settlement | undefined): void;
}

/** Merges propagated meta under the caller's own (the caller's keys win). */
export function withPropagated(
  instrumentation: Instrumentation | undefined,
  meta: Record<string, string> | undefined,
): Record<string, string> | undefined {
  const extra = instrumentation?.propagate();
  if (!extra) return meta;
  return meta ? { ...extra, ...meta } : extra;
}
