import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

/**
 * prom-client's default metrics (process CPU, memory, heap spaces, GC, event-loop lag, handles),
 * in a registry of their own made once per process. They describe the process, not a plugin, and
 * collecting them starts observers (GC, event-loop delay) prom-client never stops: one set for
 * every plugin instance (a test suite makes hundreds) rather than one each.
 */
export function processMetrics(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
