import { Deque } from './deque.js';
import { ReadyQueue } from './ready-queue.js';

interface Entry {
  priority: number;
  seq: number;
  status: string;
  key: string | undefined;
}

/** The turn of the plain queue (jobs without a flow key) among the keys, while any key has jobs. */
export const PLAIN_TURN = '';

/**
 * Ready jobs of one job name, fair across flow keys (docs/flow-control.md). Jobs without a key
 * wait in one plain `ReadyQueue`, as they did before there were keys; each key that has jobs
 * gets its own, and the keys (the plain queue among them) take turns: the key whose turn it is
 * gives up to its weight in jobs, then goes to the back. So a key with 50,000 jobs queued and a
 * key with one are served alike, and a job name nobody keys costs one branch per pick.
 *
 * Entries leave lazily, as in `ReadyQueue`: a cancelled job's entry is skipped when it comes up.
 */
export class FairQueue<T extends Entry> {
  readonly plain = new ReadyQueue<T>();
  private readonly keyed = new Map<string, ReadyQueue<T>>();
  /** Keys with queued entries, in turn order, each once; `PLAIN_TURN` among them while there are keys. */
  private readonly turns = new Deque<string>();
  /** Jobs the key at the front has taken in its current turn. */
  private used = 0;
  /** Held jobs per key that a per-key concurrency limit counts (see MemoryState.move). */
  readonly running = new Map<string, number>();

  push(item: T): void {
    const key = item.key;
    if (key === undefined) return this.plain.push(item);
    let queue = this.keyed.get(key);
    if (!queue) {
      queue = new ReadyQueue<T>();
      this.keyed.set(key, queue);
      // The plain queue keeps its place in line: it had its jobs before this key came.
      if (this.turns.length === 0) this.turns.push(PLAIN_TURN);
      this.turns.push(key);
    }
    queue.push(item);
  }

  /** Whether any key has jobs queued (else the plain queue is all there is). */
  get fair(): boolean {
    return this.turns.length > 0;
  }

  /**
   * The next job to hand out: the plain queue's head, or, while keys have jobs, the head of the
   * first key in turn that is not `blocked` (a blocked key goes to the back, keeping its jobs).
   * Stale entries on the way are dropped, and so are keys left without jobs. Looks at each key at
   * most once per call.
   */
  head(blocked: (key: string | undefined) => boolean): T | undefined {
    if (this.turns.length === 0) return blocked(undefined) ? undefined : liveHead(this.plain);
    for (let n = this.turns.length; n > 0; n--) {
      const turn = this.turns.peek()!;
      const queue = turn === PLAIN_TURN ? this.plain : this.keyed.get(turn)!;
      const key = turn === PLAIN_TURN ? undefined : turn;
      const item = liveHead(queue);
      if (!item && key !== undefined) {
        this.keyed.delete(key);
        this.turns.shift();
        this.used = 0;
        if (this.keyed.size === 0) {
          this.turns.shift();
          return blocked(undefined) ? undefined : liveHead(this.plain);
        }
        continue;
      }
      if (item && !blocked(key)) return item;
      this.nextTurn();
    }
    return undefined;
  }

  /** Takes the job `head` gave; the key's turn ends after `weight` jobs. */
  take(weight: number): void {
    if (this.turns.length === 0) {
      this.plain.shift();
      return;
    }
    const turn = this.turns.peek()!;
    (turn === PLAIN_TURN ? this.plain : this.keyed.get(turn)!).shift();
    if (++this.used >= weight) this.nextTurn();
  }

  /** Reading ahead (memory-claim.ts): the plain queue, where a job name without keys keeps its jobs. */
  countAhead(n: number, test: (item: T) => boolean): number {
    return this.plain.countAhead(n, test);
  }

  /** Whether a key (undefined: the plain queue) has entries queued, perhaps stale. */
  has(key: string | undefined): boolean {
    return key === undefined ? this.plain.peek() !== undefined : this.keyed.has(key);
  }

  /** Inspection (flowStats): how many keys take turns, and the first `n` of them in turn order with their queue entries. */
  examine(n: number): { keys: number; first: { key: string; queued: number }[] } {
    const keys = Math.max(0, this.turns.length - 1);
    const first: { key: string; queued: number }[] = [];
    for (const key of this.turns.first(n + 1)) {
      if (key === PLAIN_TURN || first.length >= n) continue;
      first.push({ key, queued: this.keyed.get(key)?.size ?? 0 });
    }
    return { keys, first };
  }

  private nextTurn(): void {
    this.turns.push(this.turns.shift()!);
    this.used = 0;
  }
}

function liveHead<T extends Entry>(queue: ReadyQueue<T>): T | undefined {
  let head = queue.peek();
  while (head && head.status !== 'queued') {
    queue.shift();
    head = queue.peek();
  }
  return head;
}
