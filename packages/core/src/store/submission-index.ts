const CHUNK = 1_024;

interface Chunk<T> {
  /** `seq` of the first slot: a multiple of CHUNK. */
  base: number;
  items: (T | undefined)[];
  live: number;
}

/**
 * Jobs in submission order, for walking a listing from any point: slots addressed by the job's
 * `seq` (handed out one after another), in chunks of 1,024 kept in order. Adding and removing are
 * a few steps and let go of a removed job at once; a chunk goes when its last job does. (An array
 * of jobs compacted now and then cost a tenth of claim + settle: the dropped jobs it kept alive
 * until the next compaction were marked by every GC.)
 */
export class SubmissionIndex<T extends { seq: number }> {
  private chunks: Chunk<T>[] = [];
  private byBase = new Map<number, Chunk<T>>();
  private lastSeq = -1;

  add(item: T): void {
    const base = item.seq - (item.seq % CHUNK);
    let chunk = this.chunks.at(-1);
    if (chunk?.base !== base) {
      chunk = this.byBase.get(base);
      if (!chunk) {
        chunk = { base, items: new Array<T | undefined>(CHUNK), live: 0 };
        this.byBase.set(base, chunk);
        this.chunks.splice(this.chunkIndex(base), 0, chunk);
      }
    }
    chunk.items[item.seq - base] = item;
    chunk.live++;
    if (item.seq > this.lastSeq) this.lastSeq = item.seq;
  }

  remove(item: T): void {
    const base = item.seq - (item.seq % CHUNK);
    const chunk = this.byBase.get(base);
    if (!chunk || chunk.items[item.seq - base] !== item) return;
    chunk.items[item.seq - base] = undefined;
    if (--chunk.live > 0) return;
    this.byBase.delete(base);
    this.chunks.splice(this.chunkIndex(base), 1);
  }

  /**
   * Visits the items with a `seq` above `after`, in order, until `visit` answers false (it took
   * its last) or `maxSlots` slots were looked at, removed ones included, so the work is bounded
   * whatever matches. Answers the `seq` to continue after, or undefined when nothing is left.
   */
  walk(after: number, maxSlots: number, visit: (item: T) => boolean): number | undefined {
    let budget = maxSlots;
    const from = after + 1;
    for (let c = this.chunkIndex(from - (from % CHUNK)); c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      for (let i = Math.max(0, from - chunk.base); i < CHUNK; i++) {
        const seq = chunk.base + i;
        if (seq > this.lastSeq) return undefined;
        const item = chunk.items[i];
        const more = item === undefined || visit(item);
        if ((!more || --budget === 0) && seq < this.lastSeq) return seq;
        if (!more || budget === 0) return undefined;
      }
    }
    return undefined;
  }

  /**
   * The `seq` to walk after so as to meet every item `isBefore` rejects: items are sorted so that
   * it holds for a prefix of them (creation times, which grow with `seq`). -1 walks from the start.
   */
  startAfter(isBefore: (item: T) => boolean): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const first = this.chunks[mid]!.items.find((item) => item !== undefined);
      if (first !== undefined && isBefore(first)) lo = mid + 1;
      else hi = mid;
    }
    // Chunk lo - 1 starts before the boundary and may cross it: walk it whole.
    return lo === 0 ? -1 : this.chunks[lo - 1]!.base - 1;
  }

  /** The first chunk whose base is at least `base`. */
  private chunkIndex(base: number): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.chunks[mid]!.base < base) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
