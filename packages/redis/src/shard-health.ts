/**
 * Which shards answered lately. A shard whose call failed (its Redis down, a partition) is left
 * out of claims and of the placement of new jobs for a back-off that doubles from `baseMs` up to
 * `maxMs`, then tried again; one answer clears it. Operations on a job that lives there still go
 * there (and fail fast with STORE_UNAVAILABLE): only that shard's jobs are unavailable.
 *
 * Real time, not the store's clock: this is about connections, and a simulated clock that
 * never moves would keep a shard out forever.
 *
 * @example
 * const health = new ShardHealth(3);
 * health.failed(1);
 * health.live(1); // false for the next 100 ms
 */
export class ShardHealth {
  private readonly downUntil: number[];
  private readonly failures: number[];

  constructor(
    count: number,
    private readonly baseMs = 100,
    private readonly maxMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.downUntil = Array<number>(count).fill(0);
    this.failures = Array<number>(count).fill(0);
  }

  live(shard: number): boolean {
    return this.downUntil[shard]! <= this.now();
  }

  failed(shard: number): void {
    const failures = ++this.failures[shard]!;
    this.downUntil[shard] = this.now() + Math.min(this.baseMs * 2 ** (failures - 1), this.maxMs);
  }

  answered(shard: number): void {
    if (this.failures[shard] === 0) return;
    this.failures[shard] = 0;
    this.downUntil[shard] = 0;
  }
}
