/**
 * A Map for entries that come and go in bursts: the jobs under lease, the attempts running.
 *
 * Why not a plain Map: V8 shrinks a Map when a delete leaves it under a quarter full and grows it
 * again when it fills, rehashing each time. A map that fills with a claim of 64 jobs and empties
 * as they settle does that about nine times per batch — in-process dispatch spent 8% of its time
 * in those rehashes. Here a removal overwrites the entry with `undefined` and the table is
 * rebuilt, with only the live entries, once the removed ones outnumber them (and 1,024): the
 * same amortised O(1), without the oscillation.
 */
export class ChurnMap<K, V extends NonNullable<unknown>> {
  private map = new Map<K, V | undefined>();
  private live = 0;
  private removed = 0;

  get size(): number {
    return this.live;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    // A removed key set again stays counted in `removed`: that only brings the rebuild forward.
    if (this.map.get(key) === undefined) this.live++;
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    if (this.map.get(key) === undefined) return false;
    this.map.set(key, undefined);
    this.live--;
    if (++this.removed > 1_024 && this.removed > this.live) this.compact();
    return true;
  }

  *values(): IterableIterator<V> {
    for (const value of this.map.values()) if (value !== undefined) yield value;
  }

  private compact(): void {
    const next = new Map<K, V | undefined>();
    for (const [key, value] of this.map) if (value !== undefined) next.set(key, value);
    this.map = next;
    this.removed = 0;
  }
}
