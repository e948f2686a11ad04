/**
 * A FIFO with O(1) push and shift. `Array#shift` is O(n) once V8 gives up on its fast path, which
 * a queue of a million jobs reaches; an advancing head index with occasional compaction is not.
 */
export class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  /** How many of the first `n` items pass `test`: a tight loop, for reading ahead (see the memory store). */
  countAhead(n: number, test: (item: T) => boolean): number {
    const { items } = this;
    const end = Math.min(items.length, this.head + n);
    let count = 0;
    for (let i = this.head; i < end; i++) if (test(items[i]!)) count++;
    return count;
  }

  /** The first `n` items, oldest first (for inspection; the deque is unchanged). */
  first(n: number): T[] {
    return this.items.slice(this.head, this.head + n) as T[];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
