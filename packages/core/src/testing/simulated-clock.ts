import type { Clock, TimerHandle } from '../clock.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told. `advance(ms)` fires due timers in time order and lets the
 * promise callbacks they cause run between timers, so a test reads like the real sequence of
 * events without sleeping.
 *
 * @example
 * const clock = new SimulatedClock();
 * const system = createJobSystem({ jobs, workers: 2, clock });
 * await clock.advance(1_000);
 */
export class SimulatedClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as Timer).cancelled = true;
  }

  /** Timers still waiting to fire. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.callback();
      await flushMicrotasks();
    }
    this.current = target;
    this.timers = this.timers.filter((t) => !t.cancelled);
    await flushMicrotasks();
  }

  /** Lets pending promise callbacks run without moving time. */
  async tick(): Promise<void> {
    await flushMicrotasks();
  }

  private nextDue(limit: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/**
 * Resolves once every promise callback queued so far (and those they queue) has run: a
 * `setImmediate` turn comes after the whole microtask queue drains. The simulated clock owns all
 * runtime timers in a test, so no real timer of ours can interleave.
 */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
