/**
 * What this node last heard from the store about the queue bound, so that a batch can be refused
 * before its body is parsed when the answer is already known. Refused through the store, a
 * 100-item batch cost the node about 1.3 ms of CPU (parse, validate, an error with its stack per
 * item: a quarter of the node's profile, a problem per item in the answer) and Redis 0.46 ms (an
 * FCALL that checks every item, then refuses it): under 4x overload on the Redis store the node
 * accepted fewer than half the jobs single requests got in (docs/benchmarks.md).
 *
 * The store stays the record: the hint only ever refuses, never accepts, and only for `holdMs`
 * after a store reply said the bound was reached. After that one batch at a time (the probe)
 * goes to the store while the others are still refused; the probe's reply re-arms the hint (the
 * bound still refused an item) or clears it (every item got in). A probe whose reply never comes
 * holds the others back for at most another `holdMs`.
 *
 * Only replies that prove the bound was reached arm it: a non-atomic enqueue refusing an item
 * with QUEUE_FULL (the items before it filled the queue, or it was full). An atomic batch refused
 * at the bound does not: a smaller batch may still fit.
 */
export class QueueFullHint {
  /** Until when batches are refused without asking the store; 0: no hint. */
  private fullUntil = 0;
  /** A probe is at the store until its reply, or until then. */
  private probeUntil = 0;

  constructor(
    private readonly holdMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * True when a batch should be refused without reaching the store. When the hold has just run
   * out, the caller that gets false is the probe.
   */
  shed(): boolean {
    if (this.fullUntil === 0) return false;
    const now = this.now();
    if (now < this.fullUntil || now < this.probeUntil) return true;
    this.probeUntil = now + this.holdMs;
    return false;
  }

  /** The store refused an item of a non-atomic enqueue at the bound. */
  full(): void {
    if (this.holdMs <= 0) return;
    this.fullUntil = this.now() + this.holdMs;
    this.probeUntil = 0;
  }

  /** The store took every item of a batch: there was room, so every batch asks it again. */
  room(): void {
    this.fullUntil = 0;
    this.probeUntil = 0;
  }
}
