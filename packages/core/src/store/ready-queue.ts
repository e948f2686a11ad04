import { Deque } from './deque.js';

/**
 * Ready jobs of one job name: FIFO buckets per priority, highest priority first. Most systems use
 * a handful of priorities, so a bucket lookup beats a heap of a million entries. Entries are
 * removed lazily: the store skips an entry whose job is no longer queued (it was cancelled).
 */
export class ReadyQueue<T extends { priority: number; seq: number }> {
  private buckets = new Map<number, Deque<T>>();
  /** Distinct priorities present, highest first. */
  private priorities: number[] = [];

  push(item: T): void {
    let bucket = this.buckets.get(item.priority);
    if (!bucket) {
      bucket = new Deque<T>();
      this.buckets.set(item.priority, bucket);
      this.priorities.push(item.priority);
      this.priorities.sort((a, b) => b - a);
    }
    bucket.push(item);
  }

  /** Entries held, stale ones included (they leave when a claim reaches them). */
  get size(): number {
    let n = 0;
    for (const bucket of this.buckets.values()) n += bucket.length;
    return n;
  }

  peek(): T | undefined {
    for (const p of this.priorities) {
      const item = this.buckets.get(p)!.peek();
      if (item !== undefined) return item;
    }
    return undefined;
  }

  /** How many of the first `n` items of the highest priority present pass `test` (for reading ahead). */
  countAhead(n: number, test: (item: T) => boolean): number {
    const p = this.priorities[0];
    return p === undefined ? 0 : this.buckets.get(p)!.countAhead(n, test);
  }

  shift(): T | undefined {
    for (let i = 0; i < this.priorities.length; i++) {
      const p = this.priorities[i]!;
      const bucket = this.buckets.get(p)!;
      const item = bucket.shift();
      if (item !== undefined) {
        if (bucket.length === 0 && this.priorities.length > 1) {
          // Drop empty buckets so a stream of one-off priorities does not leave a long list to scan.
          this.buckets.delete(p);
          this.priorities.splice(i, 1);
        }
        return item;
      }
    }
    return undefined;
  }
}
