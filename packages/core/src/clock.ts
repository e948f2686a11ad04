/**
 * All time the runtime reads goes through a `Clock`: retries, back-off, timeouts, delays, leases
 * and retention. Production uses `systemClock`; unit tests pass a `SimulatedClock`
 * (`@scalable-api/core/testing`) and advance it instead of sleeping.
 */
export interface Clock {
  now(): number;
  /** Any `ms`, however long (`systemClock` arms delays past 2^31-1 ms in steps; `Infinity` never fires). */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque to callers; each clock decides what it is. */
export type TimerHandle = { readonly __timer: true } | object;

/** The longest delay one Node timer holds; a longer one would fire after 1 ms (TimeoutOverflowWarning). */
const maxTimerMs = 2 ** 31 - 1;

/** A timer past `maxTimerMs`, armed in steps: its handle follows the step that is armed now. */
interface LongTimer {
  current: NodeJS.Timeout;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    // Not unref'd: a started system keeps its process alive until stop(), like a server does,
    // and a script awaiting a retried job's result must not exit under it.
    if (!(ms > maxTimerMs)) return setTimeout(callback, ms);
    // Infinity never fires; anything else past ~24.8 days re-arms until it is due.
    const due = Date.now() + ms;
    const long: LongTimer = { current: undefined as unknown as NodeJS.Timeout };
    const arm = (): void => {
      const left = due - Date.now();
      long.current = left > maxTimerMs ? setTimeout(arm, maxTimerMs) : setTimeout(callback, Math.max(0, left));
    };
    arm();
    return long;
  },
  clearTimeout(handle) {
    const long = handle as Partial<LongTimer>;
    clearTimeout(long.current ?? (handle as NodeJS.Timeout));
  },
};
