import type { Clock, TimerHandle } from '../clock.js';
import { newJobId } from '../job/new-job-id.js';
import type { Logger } from '../logger.js';
import type { JobStore } from '../store/job-store.js';
import { planFire } from './schedule-timing.js';

/** What the scheduler reads and drives: the node runtime, narrowed. */
export interface SchedulerTarget {
  readonly store: JobStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly queueLimit: number;
}

/** Schedules taken per store call; a round with more due goes on at once. */
const batch = 100;

/**
 * Fires the store's schedules from this node. Every node runs one; the store lets exactly one
 * take each tick (`fireSchedules` checks the tick it was planned for), so nodes only race for
 * it, never double it. The timer aims at the earliest tick it knows of, and a round runs at least
 * every `pollMs` whatever happened, so a schedule added or changed on another node, a timer lost
 * to a stall or a round that failed is picked up from the store within `pollMs`.
 */
export class Scheduler {
  private timer: TimerHandle | undefined;
  private running = false;
  private again = false;
  private stopped = true;

  constructor(
    private readonly node: SchedulerTarget,
    private readonly pollMs: number,
  ) {}

  start(): void {
    if (!this.node.store.schedules || !this.node.store.fireSchedules) return;
    this.stopped = false;
    this.runSoon();
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /** A round now, or right after the one under way (a schedule was just defined here). */
  runSoon(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.round();
  }

  private disarm(): void {
    if (this.timer !== undefined) this.node.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.disarm();
    if (this.stopped) return;
    this.timer = this.node.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.runSoon();
      },
      Math.max(0, ms),
    );
  }

  private async round(): Promise<void> {
    this.running = true;
    this.disarm();
    let wait = this.pollMs;
    try {
      wait = await this.fireDue();
    } catch (error) {
      this.node.logger.warn({ err: error }, 'firing schedules failed; trying again later');
    } finally {
      this.running = false;
      if (this.again || wait === 0) {
        this.again = false;
        this.runSoon();
      } else this.arm(wait);
    }
  }

  /** Fires what is due; answers how long until the next round (0: at once). */
  private async fireDue(): Promise<number> {
    const { store, clock, queueLimit } = this.node;
    const now = clock.now();
    const horizon = now + this.pollMs;
    const due = await store.schedules!({ dueBy: horizon, limit: batch });
    const ready = due.filter((s) => s.nextAt <= now);
    let next = horizon;
    for (const s of due) if (s.nextAt > now && s.nextAt < next) next = s.nextAt;
    if (ready.length === 0) return next - now;
    const fires = ready.map((s) => planFire(s, now, store.newId?.({ scheduleKey: s.key }) ?? newJobId()));
    const outcomes = await store.fireSchedules!(fires, { limit: queueLimit });
    let refused = false;
    let stale = false;
    outcomes.forEach((outcome, i) => {
      if (outcome.outcome === 'refused') refused = true;
      else if (outcome.outcome === 'stale') stale = true;
      else if (fires[i]!.nextAt < next) next = fires[i]!.nextAt;
    });
    // A refused tick waits for the next poll (the queue is full). Otherwise a full page may hide
    // more due schedules, and a tick another node took leaves us not knowing the next one: read again.
    if (refused) return this.pollMs;
    if (ready.length === batch || stale) return 0;
    return Math.max(0, next - clock.now());
  }
}
