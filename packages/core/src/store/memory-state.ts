import { ChurnMap } from '../churn-map.js';
import { systemClock, type Clock } from '../clock.js';
import type { SerializedError } from '../errors.js';
import type { JobEvent } from '../events.js';
import { isHeldStatus, zeroCounts, type JobStatus } from '../job/job-status.js';
import { Deque } from './deque.js';
import type { LeaseRef, NewJob, StoreCounts, StoreListener, StoreSignal } from './job-store.js';
import { MemoryEventLog } from './memory-event-log.js';
import type { Rec } from './memory-record.js';
import { MinHeap } from './min-heap.js';
import { FairQueue } from './fair-queue.js';
import { FlowGates } from './flow-gates.js';
import type { SubmissionIndex } from './submission-index.js';

export interface MemoryStoreOptions {
  clock?: Clock;
  /** Finished trees kept for `get()` and `result()`: by count of roots and by age. */
  retention?: { count?: number; ageMs?: number };
  /** Events kept per job for readers that resume (SSE `Last-Event-ID`). */
  eventsPerJob?: number;
  /** A job whose lease expired this many times is failed with `JOB_QUARANTINED`. */
  maxStalls?: number;
}

/**
 * Everything the memory store holds, and the small steps every operation is made of. The
 * operations themselves live by concept: new jobs in memory-enqueue.ts, claiming and leases in
 * memory-claim.ts, trees and their cascades in memory-tree.ts, the per-job event log in
 * memory-event-log.ts, and the store contract on top in memory-store.ts.
 */
export class MemoryState {
  readonly clock: Clock;
  readonly retentionCount: number;
  readonly retentionAgeMs: number;
  readonly maxStalls: number;
  readonly log: MemoryEventLog;

  readonly records = new Map<string, Rec>();
  readonly ready = new Map<string, FairQueue<Rec>>();
  /** Rate limits and push-backs (flow-gates.ts); swept of spent gates now and then by the claim. */
  readonly gates = new FlowGates();
  nextGateSweep = 0;
  /** The suspect each owner was last handed (see claimReady); checked against the job's owner and state. */
  readonly suspects = new Map<string, Rec>();
  readonly delayed = new MinHeap<Rec>();
  /**
   * Jobs held under a lease, by id. Swept for expired leases only when the earliest could have
   * run out. Settles and renewals look their job up here rather than in `records`: this map holds
   * only what runs now (a few entries per worker) and stays in cache, where a lookup among a
   * million queued records missed it (`held` was 6% of a dispatch profile).
   */
  readonly leased = new ChurnMap<string, Rec>();
  nextExpiry = Infinity;
  readonly finishedRoots = new Deque<Rec>();
  readonly idempotency = new Map<string, string>();
  /** Job types no claim hands out (`pause`); their jobs stay queued. */
  readonly paused = new Set<string>();
  /**
   * Every job in submission order, for `list`; made by the first `list` call (see memory-list.ts),
   * so a store nobody lists pays nothing for it on its hot path.
   */
  order: SubmissionIndex<Rec> | undefined;
  listeners: StoreListener[] = [];
  readonly signals: StoreSignal[] = [];
  /**
   * Cascades run from these work lists rather than by recursion, so a chain 100,000 deep or a
   * parent of 100,000 children needs no stack frame per job (see memory-tree.ts).
   */
  readonly settledChildren: Rec[] = [];
  readonly toCancel: Rec[] = [];
  readonly cancelReasons: SerializedError[] = [];
  /** Finished jobs to drop (retention), with their subtrees after them. */
  readonly toDrop: Rec[] = [];
  /** Set while those lists are worked, so a step that ends a job queues its consequences instead of recursing. */
  cascading = false;
  /** Whether a later turn of the event loop will go on with what is left of them. */
  cascadeScheduled = false;
  submitSeq = 0;
  /** Adds the delivery job of a settled job with a webhook (set by the store: see memory-tree.ts). */
  addDelivery: (job: NewJob) => void = () => {};
  closed = false;
  /** The time of the operation under way: every event it writes carries it (see `stamp`). */
  now = 0;
  /** Kept so the claim's read-ahead is not optimised away as unused (see memory-claim.ts). */
  lookedAhead = 0;
  readonly tally: StoreCounts = zeroCounts();
  private flushing = false;

  constructor(options: MemoryStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.retentionCount = options.retention?.count ?? 10_000;
    this.retentionAgeMs = options.retention?.ageMs ?? 3_600_000;
    this.maxStalls = options.maxStalls ?? 3;
    this.log = new MemoryEventLog(options.eventsPerJob ?? 100);
  }

  /** Starts an operation: refuses once closed, and reads the clock once for all it does. */
  begin(): number {
    if (this.closed) throw new Error('store closed');
    this.now = this.clock.now();
    return this.now;
  }

  /** The record if `lease` is its current attempt and it is still held. */
  held(lease: LeaseRef): Rec | undefined {
    // Only a job under a lease is in `leased` (claim adds it, release removes it).
    const rec = this.leased.get(lease.id);
    if (!rec || rec.token !== lease.token || !isHeldStatus(rec.status)) return undefined;
    return rec;
  }

  /** Whether the attempt with `token` still holds `rec` and its lease has not run out (as `renew` decides). */
  holds(rec: Rec, token: number): boolean {
    return this.held({ id: rec.id, token }) === rec && rec.leaseExpiresAt > this.now;
  }

  release(rec: Rec): void {
    rec.owner = undefined;
    this.leased.delete(rec.id);
  }

  pushReady(rec: Rec): void {
    let queue = this.ready.get(rec.name);
    if (!queue) {
      queue = new FairQueue<Rec>();
      this.ready.set(rec.name, queue);
    }
    queue.push(rec);
  }

  move(rec: Rec, status: JobStatus): void {
    if (rec.extra?.counted && rec.status === 'running') this.uncount(rec);
    this.tally[rec.status]--;
    this.tally[status]++;
    rec.status = status;
  }

  /** A job its key's concurrency limit counted stops running: the key's next job may go, on any node. */
  private uncount(rec: Rec): void {
    const running = this.ready.get(rec.name)!.running;
    const n = running.get(rec.key!)! - 1;
    if (n > 0) running.set(rec.key!, n);
    else running.delete(rec.key!);
    rec.extra!.counted = false;
    this.signals.push({ type: 'work.available' });
  }

  /** Records an event in the job's log and queues it for listeners. */
  publish(rec: Rec, event: JobEvent): void {
    if (this.listeners.length > 0) this.signals.push({ type: 'job.event', event });
    this.log.append(rec, event);
  }

  /**
   * Signals go out only once an operation has finished changing state, so a listener that calls
   * back into the store (a parent cancelling its other children) sees a consistent store.
   */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let i = 0; i < this.signals.length; i++) {
        const signal = this.signals[i]!;
        for (const listener of this.listeners) listener(signal);
      }
    } finally {
      this.signals.length = 0;
      this.flushing = false;
    }
  }
}
