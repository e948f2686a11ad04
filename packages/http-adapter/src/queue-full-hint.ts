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
 * bound still refused an item) or clears it (an item got in). A probe whose reply never comes
 * holds the others back for at most another `holdMs`.
 *
 * Within the hold, the jobs this node hears leave the queue (`job.started`, `job.cancelled`, from
 * any node) are room the store may have: once as many have left since the refused call was sent
 * as the last batch carried, one batch goes to the store to fill it. Without that, a bound that
 * drains faster than the hold stood empty for the rest of it: a bound of 100 and 64 fast workers
 * took 1,400 jobs/s with a 100 ms hold and 5,100 with none (docs/benchmarks.md). Counting a batch
 * as its items, not as one, keeps a batch of 100 from going in for every job that left (tried:
 * at a bound of 1,000 the store then refused most of them, and 9,000 jobs/s fell to 6,000). A
 * node among several hears every node's starts and lets through more than its share: the store
 * refuses the rest, and that refusal re-arms the hint counting only what left after it was sent.
 *
 * Only replies that prove the bound was reached arm it: a non-atomic enqueue refusing an item
 * with QUEUE_FULL (the items before it filled the queue, or it was full). An atomic batch refused
 * at the bound does not: a smaller batch may still fit.
 */
export class QueueFullHint {
  /** Until when batches are refused without asking the store (but for `room`); 0: no hint. */
  private fullUntil = 0;
  /** A probe is at the store until its reply, or until then. */
  private probeUntil = 0;
  /** Jobs heard leaving the queue, ever: `mark()` before a store call, `full(mark)` after. */
  private heard = 0;
  /** `heard` when the refused call was sent, plus what batches let through since took. */
  private given = 0;
  /** Items of the last batch whose reply came back: what the next batch likely carries. */
  private batchItems = 1;

  constructor(
    private readonly holdMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * True when a batch should be refused without reaching the store. A batch let through for the
   * jobs that left, or when the hold has just run out (the probe), gets false.
   */
  shed(): boolean {
    if (this.fullUntil === 0) return false;
    if (this.heard - this.given >= this.batchItems) {
      this.given += this.batchItems;
      return false;
    }
    const now = this.now();
    if (now < this.fullUntil || now < this.probeUntil) return true;
    this.probeUntil = now + this.holdMs;
    return false;
  }

  /** Taken before a store call, for `full()`: the jobs heard leaving by then. */
  mark(): number {
    return this.heard;
  }

  /**
   * The store refused an item of a non-atomic enqueue of `items` (1 for a single submit), sent at
   * `mark`, at the bound. The jobs heard leaving since may have left after its answer: room.
   */
  full(mark: number, items: number): void {
    if (this.holdMs <= 0) return;
    this.fullUntil = this.now() + this.holdMs;
    this.probeUntil = 0;
    this.given = mark;
    if (items > 1) this.batchItems = items;
  }

  /** A job left the queue (it started, or was cancelled). */
  freed(): void {
    this.heard++;
  }

  /**
   * The store took an item of a batch of `items`. Within the hold that is room being refilled,
   * as expected; after it, the queue had room for the probe, so every batch asks the store again.
   */
  room(items: number): void {
    this.batchItems = Math.max(1, items);
    if (this.fullUntil === 0 || this.now() < this.fullUntil) return;
    this.fullUntil = 0;
    this.probeUntil = 0;
  }
}
