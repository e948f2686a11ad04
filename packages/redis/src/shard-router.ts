import calculateSlot from 'cluster-key-slot';
import { newJobId, type JobPlacement } from '@scalable-api/core';

/** Redis Cluster's hash slots; `--cluster create` gives each master an equal, contiguous range. */
const SLOTS = 16_384;

/**
 * Where each job of a sharded store lives. A job id names its shard (`<shard>.<22 random
 * characters>`), so every operation on one job goes to one shard without a lookup. Ids that do
 * not name a shard of this store (a caller's own, another store's) are hashed instead: any
 * string maps to the same shard on every node, which is all routing needs.
 *
 * @example
 * const router = new ShardRouter(4);
 * const id = router.idIn(router.shardOfKey('order-7')); // "2.x7Bq…"
 * router.shardOf(id); // 2
 */
export class ShardRouter {
  constructor(readonly count: number) {
    if (!(Number.isInteger(count) && count >= 1 && count <= 1_024)) throw new RangeError(`shards must be an integer from 1 to 1024, not ${count}`);
  }

  /** The shard of a job id. */
  shardOf(id: string): number {
    const dot = id.indexOf('.');
    // One to four digits without a leading zero (unless "0"): exactly what `idIn` writes.
    if (dot > 0 && dot <= 4 && (dot === 1 || id.charCodeAt(0) !== 48)) {
      let shard = 0;
      for (let i = 0; i < dot; i++) {
        const digit = id.charCodeAt(i) - 48;
        if (digit < 0 || digit > 9) return this.hash(id);
        shard = shard * 10 + digit;
      }
      if (shard < this.count) return shard;
    }
    return this.hash(id);
  }

  /** The shard an idempotency key lives in: every node sends the same key to the same shard. */
  shardOfKey(key: string): number {
    return this.hash(key);
  }

  /** A new job id in `shard`. */
  idIn(shard: number): string {
    return `${shard}.${newJobId()}`;
  }

  /**
   * The shard a new job belongs to when its placement decides: a child in its parent's (so a
   * tree lives in its root's shard), a job with an idempotency key by the key's hash, a schedule
   * and its jobs by the schedule key's hash; `undefined`
   * when the job is free to go anywhere.
   */
  placed(placement: JobPlacement): number | undefined {
    if (placement.parentId !== undefined) return this.shardOf(placement.parentId);
    if (placement.idempotencyKey !== undefined) return this.shardOfKey(placement.idempotencyKey);
    // A schedule's jobs beside the schedule (see ShardedSchedules).
    if (placement.scheduleKey !== undefined) return this.shardOfKey(`schedule:${placement.scheduleKey}`);
    return undefined;
  }

  private hash(text: string): number {
    return this.count === 1 ? 0 : calculateSlot(text) % this.count;
  }
}

/**
 * The key prefix (and so the hash tag) of shard `shard` of `count`. On a Redis Cluster a tag's
 * slot decides its master; the tags are chosen so that shard i's slot falls in the i-th of
 * `count` equal slot ranges, which is how `redis-cli --cluster create` assigns slots to masters:
 * N shards over M masters put N/M shards on each. The choice depends only on (prefix, shard,
 * count), never on a live cluster, so every node computes the same names.
 *
 * @example
 * shardPrefix('thumbnails', 0, 3); // "thumbnails:0" or "thumbnails:0.<n>", slot in 0…5460
 */
export function shardPrefix(prefix: string, shard: number, count: number): string {
  const low = Math.floor((shard * SLOTS) / count);
  const high = Math.floor(((shard + 1) * SLOTS) / count);
  for (let salt = 0; ; salt++) {
    const candidate = salt === 0 ? `${prefix}:${shard}` : `${prefix}:${shard}.${salt}`;
    const slot = calculateSlot(candidate);
    if (slot >= low && slot < high) return candidate;
  }
}
