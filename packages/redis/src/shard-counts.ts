import { zeroCounts, type StoreCounts } from '@scalable-api/core';

/** How long an enqueue may go by the shards' counts as last read, while far from the bound. */
const freshMs = 100;

/**
 * Each shard's counts as this node last read them. They serve the queue bound, which spans the
 * shards, and `counts()`, their sum. An unreachable shard's last counts stand in for it: while
 * it is down nobody can change them.
 *
 * @example
 * const counts = new ShardCounts(3, (shard) => stores[shard].counts());
 * const depths = await counts.depths(50, 100_000); // queued + delayed per shard
 */
export class ShardCounts {
  private readonly last: StoreCounts[];
  /** When `last` was read (real time). */
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly count: number,
    private readonly read: (shard: number) => Promise<StoreCounts>,
  ) {
    this.last = Array.from({ length: count }, zeroCounts);
  }

  /**
   * Each shard's queued + delayed jobs. Read fresh (one small read per shard, in parallel) unless
   * this node read them less than `freshMs` ago and the total it knows, with what it added since
   * and the new batch, is under half the bound: far from the bound, a slightly old view cannot
   * let the system pass it, and the reads would cost every batch a round trip per shard.
   */
  async depths(adding: number, limit: number): Promise<number[]> {
    if (this.count > 1) {
      let known = adding;
      for (const c of this.last) known += c.queued + c.delayed;
      if (performance.now() - this.readAt >= freshMs || known > limit / 2) await this.refresh();
    }
    return this.last.map((c) => c.queued + c.delayed);
  }

  /** A job this node added to `shard`, counted until the next read so its view stays conservative. */
  added(shard: number): void {
    this.last[shard]!.queued++;
  }

  /** Reads every shard; resolves with how many answered. */
  async refresh(): Promise<number> {
    this.readAt = performance.now();
    let answered = 0;
    await Promise.all(
      this.last.map(async (_, shard) => {
        try {
          this.last[shard] = await this.read(shard);
          answered++;
        } catch {
          // As last seen: an unreachable shard's counts do not move.
        }
      }),
    );
    return answered;
  }

  sum(): StoreCounts {
    const sum = zeroCounts();
    for (const counts of this.last) for (const key of Object.keys(sum) as (keyof StoreCounts)[]) sum[key] += counts[key];
    return sum;
  }
}
