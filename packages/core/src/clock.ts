/**
 * All time the runtime reads goes through a `Clock`: retries, back-off, timeouts, delays, leases
 * and retention. Production uses `systemClock`; unit tests pass a `SimulatedClock`
 * (`@scalable-api/core/testing`) and advance it instead of sleeping.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque to callers; each clock decides what it is. */
export type TimerHandle = { readonly __timer: true } | object;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    // Not unref'd: a started system keeps its process alive until stop(), like a server does,
    // and a script awaiting a retried job's result must not exit under it.
    return setTimeout(callback, ms);
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
