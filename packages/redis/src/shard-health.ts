import type { Cluster, Redis } from 'ioredis';

/**
 * Which shards can be reached. Two sources:
 * - the connection: a shard whose server connection dropped is unreachable until the client is
 *   ready again (ioredis reconnects by itself), and an operation on one of its jobs fails at once
 *   with STORE_UNAVAILABLE instead of waiting out the client's retries;
 * - the answers: a shard whose call failed (a full or loading Redis, a timeout) is left out of
 *   claims and of the placement of new jobs for a back-off that doubles from `baseMs` up to
 *   `maxMs`; one answer clears it.
 * Operations on a job still go to its shard whenever the connection is up: only that shard's
 * jobs are ever unavailable.
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
  private readonly dropped: boolean[];

  constructor(
    count: number,
    private readonly baseMs = 100,
    private readonly maxMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.downUntil = Array<number>(count).fill(0);
    this.failures = Array<number>(count).fill(0);
    this.dropped = Array<boolean>(count).fill(false);
  }

  /**
   * Follows the connection that serves `shards`. A Cluster client is not followed: it stays
   * "ready" while one of its masters is down, so there only the answers tell.
   */
  watch(client: Redis | Cluster, shards: readonly number[]): void {
    if (client.isCluster) return;
    let wasReady = client.status === 'ready';
    client.on('close', () => {
      // Only a connection that was up drops; the first connect is not a drop.
      if (wasReady) for (const shard of shards) this.dropped[shard] = true;
    });
    client.on('ready', () => {
      wasReady = true;
      for (const shard of shards) {
        this.dropped[shard] = false;
        this.answered(shard);
      }
    });
  }

  /** Whether claims and new jobs may go to the shard. */
  live(shard: number): boolean {
    return !this.dropped[shard] && this.downUntil[shard]! <= this.now();
  }

  /** Whether the shard's connection is down: calls would only wait for its reconnect. */
  unreachable(shard: number): boolean {
    return this.dropped[shard]!;
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
