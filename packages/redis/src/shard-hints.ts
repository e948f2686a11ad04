/**
 * What a node believes about each shard's work, so that a claim asks the shards likely to have
 * some instead of every shard every time. Beliefs are hints, never the record: a shard is
 * believed to have work when it signalled so (`work`), when its earliest delayed job fell due,
 * or when nobody looked there for `probeMs` (a lost signal, a lease that ran out silently);
 * only a claim's answer clears the belief.
 *
 * Fairness: every claim starts its walk one shard further on (rotation), so with all shards busy
 * each comes first once in every `count` claims and none is starved by a busier one.
 *
 * @example
 * const hints = new ShardHints(3, 500);
 * hints.work(2);
 * hints.plan(now, () => true); // [2] — only the shard that signalled
 */
export class ShardHints {
  private readonly hot: boolean[];
  private readonly generations: number[];
  private readonly due: (number | undefined)[];
  private readonly visitedAt: number[];
  private rotation: number;

  constructor(
    private readonly count: number,
    private readonly probeMs: number,
  ) {
    // Unknown at first: every shard may hold work.
    this.hot = Array<boolean>(count).fill(true);
    this.generations = Array<number>(count).fill(0);
    this.due = Array<number | undefined>(count).fill(undefined);
    this.visitedAt = Array<number>(count).fill(Number.NEGATIVE_INFINITY);
    // Nodes start their rotations at different shards, so they do not all hit the same one first.
    this.rotation = Math.floor(Math.random() * count);
  }

  /** The shard signalled work (an enqueue, a job made ready, a sweep that found a lapsed lease). */
  work(shard: number): void {
    this.hot[shard] = true;
    this.generations[shard]!++;
  }

  /** Changes with every `work` signal; a claim compares it before and after its round trip. */
  generation(shard: number): number {
    return this.generations[shard]!;
  }

  /**
   * The shards a claim visits, in order: those believed to have work, then those not looked at
   * for `probeMs`. When neither exists (a poll, or a claim after a freed concurrency slot), every
   * live shard: that is the idle node stealing work wherever it is.
   */
  plan(now: number, live: (shard: number) => boolean): number[] {
    const start = this.rotation;
    this.rotation = (start + 1) % this.count;
    const hinted: number[] = [];
    const stale: number[] = [];
    const all: number[] = [];
    for (let k = 0; k < this.count; k++) {
      const shard = (start + k) % this.count;
      if (!live(shard)) continue;
      all.push(shard);
      const due = this.due[shard];
      if (this.hot[shard] || (due !== undefined && due <= now)) hinted.push(shard);
      else if (now - this.visitedAt[shard]! >= this.probeMs) stale.push(shard);
    }
    if (hinted.length + stale.length === 0) return all;
    return stale.length === 0 ? hinted : hinted.concat(stale);
  }

  /**
   * A claim's answer from `shard`. A shard that filled the claim may hold more; one that did not
   * is believed empty unless it signalled again while the claim was in flight.
   */
  claimed(shard: number, generation: number, asked: number, got: number, nextRunAt: number | undefined, now: number): void {
    this.visitedAt[shard] = now;
    this.due[shard] = nextRunAt;
    if (got >= asked) this.hot[shard] = true;
    else if (this.generations[shard] === generation) this.hot[shard] = false;
  }

  /**
   * The earliest time a delayed job falls due on a live shard, as far as the claims have seen.
   * An unreachable shard's is left out: it could not be claimed, and a time already past would
   * wake the dispatcher again at once, over and over.
   */
  nextRunAt(live: (shard: number) => boolean): number | undefined {
    let earliest: number | undefined;
    for (let shard = 0; shard < this.count; shard++) {
      const due = this.due[shard];
      if (due !== undefined && (earliest === undefined || due < earliest) && live(shard)) earliest = due;
    }
    return earliest;
  }
}
