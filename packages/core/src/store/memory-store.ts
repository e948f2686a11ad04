import { ChurnMap } from '../churn-map.js';
import { systemClock, type Clock } from '../clock.js';
import type { SerializedError } from '../errors.js';
import type { JobEvent } from '../events.js';
import { isTerminal, type JobStatus } from '../job/job-status.js';
import { Deque } from './deque.js';
import { impliedEvents, isImplied } from './implied-events.js';
import type {
  CancelOutcome,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  EnqueueOptions,
  EnqueueOutcome,
  JobRecord,
  JobStore,
  LeaseRef,
  RenewOutcome,
  NewJob,
  Settlement,
  SettleOutcome,
  StoreCounts,
  StoreListener,
  StoreSignal,
} from './job-store.js';
import { extraOf, isQueued, NO_EVENTS, toRecord, type Rec } from './memory-record.js';
import { MinHeap } from './min-heap.js';
import { ReadyQueue } from './ready-queue.js';

export interface MemoryStoreOptions {
  clock?: Clock;
  /** Finished trees kept for `get()` and `result()`: by count of roots and by age. */
  retention?: { count?: number; ageMs?: number };
  /** Events kept per job for readers that resume (SSE `Last-Event-ID`). */
  eventsPerJob?: number;
  /** A job whose lease expired this many times is failed with `JOB_QUARANTINED`. */
  maxStalls?: number;
}

const CANCELLED: SerializedError = { code: 'JOB_CANCELLED', message: 'The job was cancelled.' };

/**
 * The embedded store: zero setup and the fastest, and honest about it — a crash loses
 * everything it holds (`durable: false`). It implements leases and fencing like the Redis store
 * so the runtime has one code path and the conformance suite holds both to the same contract.
 */
export class MemoryStore implements JobStore {
  readonly durable = false;
  private readonly clock: Clock;
  private readonly retentionCount: number;
  private readonly retentionAgeMs: number;
  private readonly eventsPerJob: number;
  private readonly maxStalls: number;

  private records = new Map<string, Rec>();
  private ready = new Map<string, ReadyQueue<Rec>>();
  /** The suspect each owner was last handed (see claimNow); checked against the job's owner and state. */
  private suspects = new Map<string, Rec>();
  private delayed = new MinHeap<Rec>();
  /**
   * Jobs held under a lease, by id. Swept for expired leases only when the earliest could have
   * run out. Settles and renewals look their job up here rather than in `records`: this map holds
   * only what runs now (a few entries per worker) and stays in cache, where a lookup among a
   * million queued records missed it (`held` was 6% of a dispatch profile).
   */
  private leased = new ChurnMap<string, Rec>();
  private nextExpiry = Infinity;
  private finishedRoots = new Deque<Rec>();
  private idempotency = new Map<string, string>();
  private listeners: StoreListener[] = [];
  private signals: StoreSignal[] = [];
  private flushing = false;
  private submitSeq = 0;
  private closed = false;
  private opNow = 0;
  private lookedAhead = 0;
  private tally: StoreCounts = { queued: 0, delayed: 0, running: 0, waitingChildren: 0, completed: 0, failed: 0, cancelled: 0 };

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.retentionCount = options.retention?.count ?? 10_000;
    this.retentionAgeMs = options.retention?.ageMs ?? 3_600_000;
    this.eventsPerJob = options.eventsPerJob ?? 100;
    this.maxStalls = options.maxStalls ?? 3;
  }

  async enqueue(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
    this.assertOpen();
    const now = this.stamp();
    const out: EnqueueOutcome[] = [];
    if (options.atomic && this.tally.queued + this.tally.delayed + this.countNew(jobs) > options.limit) {
      return jobs.map(() => ({ ok: false, code: 'QUEUE_FULL' }));
    }
    let available = false;
    for (const job of jobs) {
      const outcome = this.enqueueOne(job, options.limit, now);
      // A delayed job announces itself too: the claim that follows reports when it falls due.
      if (outcome.ok && outcome.created && outcome.status !== 'waitingChildren') available = true;
      out.push(outcome);
    }
    if (available) this.signals.push({ type: 'work.available' });
    this.flush();
    return out;
  }

  /** How many jobs of a batch would be added and count against the bound (not found by a key, not declared parents). */
  private countNew(jobs: readonly NewJob[]): number {
    let count = 0;
    for (const job of jobs) {
      if ((job.awaitChildren ?? 0) > 0) continue;
      if (job.idempotencyKey !== undefined && this.records.has(this.idempotency.get(job.idempotencyKey) ?? '')) continue;
      const parent = job.parentId === undefined ? undefined : this.records.get(job.parentId);
      if (parent && job.childKey !== undefined && this.records.has(parent.extra?.childKeys?.get(job.childKey) ?? '')) continue;
      count++;
    }
    return count;
  }

  private enqueueOne(job: NewJob, limit: number, now: number): EnqueueOutcome {
    if (job.idempotencyKey !== undefined) {
      const existing = this.records.get(this.idempotency.get(job.idempotencyKey) ?? '');
      if (existing) {
        return { ok: true, id: existing.id, created: false, status: existing.status, name: existing.name, fingerprint: existing.extra?.fingerprint };
      }
    }
    const parent = job.parentId === undefined ? undefined : this.records.get(job.parentId);
    if (job.parentId !== undefined && (!parent || isTerminal(parent.status))) return { ok: false, code: 'JOB_NOT_FOUND' };
    // A spawn from an attempt that no longer holds its parent (a zombie after a lapsed lease).
    if (parent && job.parentToken !== undefined && !this.holds(parent, job.parentToken, now)) return { ok: false, code: 'LEASE_LOST' };
    if (parent && job.childKey !== undefined) {
      const existing = this.records.get(parent.extra?.childKeys?.get(job.childKey) ?? '');
      if (existing) {
        return { ok: true, id: existing.id, created: false, status: existing.status, name: existing.name, fingerprint: existing.extra?.fingerprint };
      }
    }
    const declared = (job.awaitChildren ?? 0) > 0;
    if (!declared && this.tally.queued + this.tally.delayed >= limit) return { ok: false, code: 'QUEUE_FULL' };

    const delayed = job.runAt !== undefined && job.runAt > now;
    const status: JobStatus = declared ? 'waitingChildren' : delayed ? 'delayed' : 'queued';
    const rec: Rec = {
      id: job.id,
      name: job.name,
      status,
      input: job.input,
      priority: job.priority,
      attempt: 0,
      createdAt: now,
      startedAt: undefined,
      finishedAt: undefined,
      runAt: delayed ? job.runAt : undefined,
      output: undefined,
      error: undefined,
      parentId: job.parentId,
      rootId: parent ? parent.rootId : (job.rootId ?? job.id),
      meta: job.meta,
      seq: this.submitSeq++,
      token: 0,
      owner: undefined,
      leaseExpiresAt: 0,
      log: NO_EVENTS,
      implied: 0,
      eventSeq: 0,
      extra: undefined,
    };
    if (parent || declared || job.idempotencyKey !== undefined) {
      const extra = extraOf(rec);
      extra.childKey = job.childKey;
      extra.onFailure = job.onFailure ?? 'fail-parent';
      extra.pendingChildren = declared ? job.awaitChildren! : 0;
      extra.declared = declared;
      extra.idempotencyKey = job.idempotencyKey;
      extra.fingerprint = job.fingerprint;
    }
    this.records.set(rec.id, rec);
    if (job.idempotencyKey !== undefined) this.idempotency.set(job.idempotencyKey, rec.id);
    if (parent) {
      const tree = extraOf(parent);
      (tree.children ??= []).push(rec.id);
      if (job.childKey !== undefined) (tree.childKeys ??= new Map()).set(job.childKey, rec.id);
      tree.childCount++;
      // A declared parent counts its children up front (awaitChildren); a spawning parent counts here.
      if (!tree.declared) tree.pendingChildren++;
    }
    this.tally[status]++;
    if (status === 'queued') {
      this.pushReady(rec);
      this.publish(rec, {
        type: 'job.queued',
        status: 'queued',
        id: rec.id,
        name: rec.name,
        seq: ++rec.eventSeq,
        at: this.opNow,
        parentId: rec.parentId,
        rootId: rec.rootId,
      });
    } else if (status === 'delayed') {
      this.delayed.push(rec.runAt!, rec);
      this.emit(rec, { type: 'job.delayed', status: 'delayed', runAt: rec.runAt! });
    } else {
      this.emit(rec, { type: 'job.waiting', status: 'waitingChildren' });
    }
    return { ok: true, id: rec.id, created: true, status };
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.claimNow(request);
  }

  claimNow(request: ClaimRequest): ClaimResult {
    this.assertOpen();
    const now = this.stamp();
    this.promoteDue(now);
    this.expireLeases(now);
    const jobs: ClaimedJob[] = [];
    const capacity = request.capacity ? new Map(request.capacity) : undefined;
    const names = request.names ?? [...this.ready.keys()];
    // A node holds at most one suspect (a job one lease loss away from quarantine) at a time, as
    // in the Redis store (see its claim script): a job that takes its node down must not take the
    // same neighbours down with it a third time. A suspect left behind is claimed shortly.
    const suspectAt = Math.max(1, this.maxStalls - 1);
    const held = this.suspects.get(request.owner);
    let suspectOut = held !== undefined && held.owner === request.owner && (held.status === 'running' || held.status === 'waitingChildren');
    if (held && !suspectOut) this.suspects.delete(request.owner);
    if (request.max > 1) this.lookAhead(names, request.max);
    const deferred: Rec[] = [];
    while (jobs.length < request.max && deferred.length < 1_000) {
      const rec = this.nextReady(names, capacity);
      if (!rec) break;
      if ((rec.extra?.stalls ?? 0) >= suspectAt) {
        if (suspectOut) {
          deferred.push(rec);
          continue;
        }
        suspectOut = true;
        this.suspects.set(request.owner, rec);
      }
      if (capacity?.has(rec.name)) capacity.set(rec.name, capacity.get(rec.name)! - 1);
      this.move(rec, 'running');
      rec.attempt++;
      rec.token++;
      rec.owner = request.owner;
      rec.leaseExpiresAt = now + request.leaseMs;
      rec.startedAt = now;
      rec.runAt = undefined;
      this.leased.set(rec.id, rec);
      if (rec.leaseExpiresAt < this.nextExpiry) this.nextExpiry = rec.leaseExpiresAt;
      this.publish(rec, {
        type: 'job.started',
        status: 'running',
        attempt: rec.attempt,
        id: rec.id,
        name: rec.name,
        seq: ++rec.eventSeq,
        at: this.opNow,
        parentId: rec.parentId,
        rootId: rec.rootId,
      });
      jobs.push({
        id: rec.id,
        token: rec.token,
        name: rec.name,
        input: rec.input,
        attempt: rec.attempt,
        priority: rec.priority,
        parentId: rec.parentId,
        rootId: rec.rootId,
        createdAt: rec.createdAt,
        meta: rec.meta,
      });
    }
    for (const rec of deferred) this.ready.get(rec.name)!.push(rec);
    let nextRunAt = this.delayed.peekKey();
    if (deferred.length > 0 && (nextRunAt === undefined || nextRunAt > now + 250)) nextRunAt = now + 250;
    this.trimRetention(now);
    this.flush();
    return { jobs, nextRunAt };
  }

  /**
   * Reads the records a claim is about to take, all at once, before taking them. On a long queue
   * each is a cache miss (a million queued jobs are ~370 MB of heap); misses issued back
   * to back overlap, while the claim loop, with a job's worth of work between two of them, waited
   * for each in turn: the first read of a record was a third of the time of in-process dispatch.
   */
  private lookAhead(names: readonly string[], max: number): void {
    let queued = 0;
    for (const name of names) queued += this.ready.get(name)?.countAhead(max, isQueued) ?? 0;
    // Kept so the reads are not optimised away as unused.
    this.lookedAhead = queued;
  }

  /** Picks the best head across the job names this claim may take: highest priority, then oldest. */
  private nextReady(names: readonly string[], capacity: Map<string, number> | undefined): Rec | undefined {
    let best: Rec | undefined;
    let bestQueue: ReadyQueue<Rec> | undefined;
    for (const name of names) {
      if (capacity && (capacity.get(name) ?? 1) <= 0) continue;
      const queue = this.ready.get(name);
      if (!queue) continue;
      let head = queue.peek();
      while (head && head.status !== 'queued') {
        queue.shift();
        head = queue.peek();
      }
      if (head && (!best || head.priority > best.priority || (head.priority === best.priority && head.seq < best.seq))) {
        best = head;
        bestQueue = queue;
      }
    }
    bestQueue?.shift();
    return best;
  }

  async renew(leases: readonly LeaseRef[], leaseMs: number): Promise<RenewOutcome[]> {
    this.assertOpen();
    const now = this.stamp();
    return leases.map((lease): RenewOutcome => {
      const rec = this.held(lease);
      if (!rec || rec.leaseExpiresAt <= now) return { held: false };
      rec.leaseExpiresAt = now + leaseMs;
      const cancel = rec.extra?.cancelRequested;
      return cancel ? { held: true, cancel } : { held: true };
    });
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    this.assertOpen();
    const now = this.stamp();
    const out = settlements.map((s): SettleOutcome => {
      const rec = this.held(s);
      if (!rec) return 'stale';
      this.release(rec);
      const cancel = rec.extra?.cancelRequested;
      if (s.outcome === 'completed') {
        this.finish(rec, 'completed', now, s.output, undefined);
      } else if (s.outcome === 'failed') {
        this.finish(rec, 'failed', now, undefined, s.error);
      } else if (s.outcome === 'cancelled') {
        this.finish(rec, 'cancelled', now, undefined, s.error);
      } else if (cancel) {
        // Asked to stop while it ran: a retry or a hand-back would only run it again.
        this.finish(rec, 'cancelled', now, undefined, cancel);
      } else if (s.outcome === 'retry') {
        rec.error = s.error;
        this.requeue(rec, s.runAt, now, s.error);
      } else {
        this.giveBack(rec);
      }
      return 'ok';
    });
    this.trimRetention(now);
    this.flush();
    return out;
  }

  async setWaiting(lease: LeaseRef, waiting: boolean): Promise<boolean> {
    this.assertOpen();
    this.stamp();
    const rec = this.held(lease);
    if (!rec) return false;
    const target = waiting ? 'waitingChildren' : 'running';
    if (rec.status !== target) {
      this.move(rec, target);
      if (waiting) this.emit(rec, { type: 'job.waiting', status: 'waitingChildren' });
      else this.emit(rec, { type: 'job.started', status: 'running', attempt: rec.attempt });
    }
    this.flush();
    return true;
  }

  async progress(lease: LeaseRef, value: unknown): Promise<boolean> {
    this.assertOpen();
    this.stamp();
    const rec = this.held(lease);
    if (!rec) return false;
    extraOf(rec).progress = value;
    this.emit(rec, { type: 'job.progress', status: rec.status as 'running' | 'waitingChildren', progress: value });
    this.flush();
    return true;
  }

  async cancel(id: string, reason: SerializedError = CANCELLED): Promise<CancelOutcome> {
    this.assertOpen();
    const rec = this.records.get(id);
    if (!rec) return 'not_found';
    if (isTerminal(rec.status)) return 'settled';
    const outcome = this.cancelTree(rec, reason, this.stamp());
    this.flush();
    return outcome;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const rec = this.records.get(id);
    return rec ? toRecord(rec) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    return ids.map((id) => {
      const rec = this.records.get(id);
      return rec ? toRecord(rec) : undefined;
    });
  }

  async children(id: string): Promise<JobRecord[]> {
    const rec = this.records.get(id);
    const children = rec?.extra?.children;
    if (!children) return [];
    const out: JobRecord[] = [];
    for (const childId of children) {
      const child = this.records.get(childId);
      if (child) out.push(toRecord(child));
    }
    return out;
  }

  async events(id: string, afterSeq: number): Promise<JobEvent[]> {
    const rec = this.records.get(id);
    if (!rec) return [];
    const log = rec.implied > 0 ? [...impliedEvents(rec, rec.implied), ...rec.log] : rec.log;
    return log.filter((e) => e.seq > afterSeq);
  }

  async counts(): Promise<StoreCounts> {
    return { ...this.tally };
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners = [];
  }

  /** Reads the clock once per operation; every event of the operation carries that time. */
  private stamp(): number {
    this.opNow = this.clock.now();
    return this.opNow;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store closed');
  }

  /** The record if `lease` is its current attempt and it is still held. */
  private held(lease: LeaseRef): Rec | undefined {
    // Only a job under a lease is in `leased` (claim adds it, release removes it).
    const rec = this.leased.get(lease.id);
    if (!rec || rec.token !== lease.token) return undefined;
    if (rec.status !== 'running' && rec.status !== 'waitingChildren') return undefined;
    return rec;
  }

  /** Whether the attempt with `token` still holds `rec`, by the same test as `renew`. */
  private holds(rec: Rec, token: number, now: number): boolean {
    return this.held({ id: rec.id, token }) === rec && rec.leaseExpiresAt > now;
  }

  private pushReady(rec: Rec): void {
    let queue = this.ready.get(rec.name);
    if (!queue) {
      queue = new ReadyQueue<Rec>();
      this.ready.set(rec.name, queue);
    }
    queue.push(rec);
  }

  private move(rec: Rec, status: JobStatus): void {
    this.tally[rec.status]--;
    this.tally[status]++;
    rec.status = status;
  }

  private promoteDue(now: number): void {
    let promoted = false;
    while (this.delayed.size > 0 && this.delayed.peekKey()! <= now) {
      const rec = this.delayed.pop()!;
      if (rec.status !== 'delayed' || rec.runAt === undefined || rec.runAt > now) continue;
      this.move(rec, 'queued');
      rec.runAt = undefined;
      this.pushReady(rec);
      this.emit(rec, { type: 'job.queued', status: 'queued' });
      promoted = true;
    }
    if (promoted) this.signals.push({ type: 'work.available' });
  }

  /** A lease that ran out means its owner died or stalled: the job goes back to the queue. */
  private expireLeases(now: number): void {
    if (now < this.nextExpiry) return;
    let next = Infinity;
    for (const rec of [...this.leased.values()]) {
      if (rec.leaseExpiresAt > now) {
        if (rec.leaseExpiresAt < next) next = rec.leaseExpiresAt;
        continue;
      }
      this.release(rec);
      const extra = extraOf(rec);
      extra.stalls++;
      if (extra.cancelRequested) {
        this.finish(rec, 'cancelled', now, undefined, extra.cancelRequested);
      } else if (extra.stalls >= this.maxStalls) {
        this.finish(rec, 'failed', now, undefined, {
          code: 'JOB_QUARANTINED',
          message: `The job lost its lease ${extra.stalls} times; it is not retried.`,
        });
      } else {
        this.requeue(rec, now, now, undefined);
      }
    }
    this.nextExpiry = next;
  }

  private release(rec: Rec): void {
    rec.owner = undefined;
    this.leased.delete(rec.id);
  }

  private requeue(rec: Rec, runAt: number, now: number, error: SerializedError | undefined): void {
    const later = runAt > now;
    this.move(rec, later ? 'delayed' : 'queued');
    rec.runAt = later ? runAt : undefined;
    if (later) this.delayed.push(runAt, rec);
    else {
      this.pushReady(rec);
      this.signals.push({ type: 'work.available' });
    }
    if (error) {
      this.emit(rec, { type: 'job.retrying', status: later ? 'delayed' : 'queued', attempt: rec.attempt, runAt, error });
    } else {
      this.emit(rec, { type: 'job.queued', status: 'queued' });
    }
  }

  /** A released job: queued again as if the attempt had not been claimed (see `Settlement`). */
  private giveBack(rec: Rec): void {
    // The event first: it writes out the implied `job.started` from the record as it still is.
    this.emit(rec, { type: 'job.released', status: 'queued' });
    this.move(rec, 'queued');
    rec.attempt--;
    if (rec.attempt === 0) rec.startedAt = undefined;
    this.pushReady(rec);
    this.signals.push({ type: 'work.available' });
  }

  private finish(rec: Rec, status: 'completed' | 'failed' | 'cancelled', now: number, output: unknown, error: SerializedError | undefined): void {
    this.release(rec);
    const extra = rec.extra;
    if (extra && extra.pendingChildren > 0) {
      // A job tree settles bottom-up: the parent's outcome waits for its last child. A parent
      // that failed or was cancelled takes its unfinished subtree with it (nobody could use those
      // results); one that completed early lets its children finish.
      extra.deferred = { status, output, error };
      if (rec.status !== 'waitingChildren') {
        this.move(rec, 'waitingChildren');
        this.emit(rec, { type: 'job.waiting', status: 'waitingChildren' });
      }
      if (status !== 'completed') this.cancelChildren(rec, { code: 'JOB_CANCELLED', message: `Parent ${rec.id} ${status}.` }, now);
      return;
    }
    if (extra) extra.deferred = undefined;
    this.move(rec, status);
    rec.finishedAt = now;
    rec.output = output;
    rec.error = error;
    if (status === 'completed') {
      this.publish(rec, {
        type: 'job.completed',
        status,
        output,
        id: rec.id,
        name: rec.name,
        seq: ++rec.eventSeq,
        at: this.opNow,
        parentId: rec.parentId,
        rootId: rec.rootId,
      });
    } else if (status === 'failed') this.emit(rec, { type: 'job.failed', status, error: error! });
    else this.emit(rec, { type: 'job.cancelled', status, error: error! });
    if (rec.parentId === undefined) this.finishedRoots.push(rec);
    else this.childSettled(rec, now);
  }

  private childSettled(child: Rec, now: number): void {
    const parent = this.records.get(child.parentId!);
    if (!parent || isTerminal(parent.status)) return;
    const tree = extraOf(parent);
    tree.pendingChildren--;
    if (tree.deferred) {
      if (tree.pendingChildren === 0) this.finish(parent, tree.deferred.status, now, tree.deferred.output, tree.deferred.error);
      return;
    }
    // Dynamic parents are woken by the child's event on the node that runs them; declared
    // parents have no code running yet, so the store itself decides what happens to them.
    if (!tree.declared || parent.status !== 'waitingChildren') return;
    if (child.status !== 'completed' && (child.extra?.onFailure ?? 'fail-parent') === 'fail-parent') {
      this.finish(parent, 'failed', now, undefined, {
        code: 'CHILD_FAILED',
        message: `Child ${child.id} (${child.name}) ${child.status}.`,
        details: { childId: child.id, childError: child.error },
      });
    } else if (tree.pendingChildren === 0) {
      this.move(parent, 'queued');
      this.pushReady(parent);
      this.emit(parent, { type: 'job.queued', status: 'queued' });
      this.signals.push({ type: 'work.available' });
    }
  }

  private cancelTree(rec: Rec, reason: SerializedError, now: number): CancelOutcome {
    if (isTerminal(rec.status)) return 'settled';
    if (rec.extra?.deferred) {
      // Already ending, waiting for its children: hurry them along, keep its outcome.
      this.cancelChildren(rec, reason, now);
      return 'cancelling';
    }
    if (rec.owner !== undefined) {
      // Running somewhere: the owner aborts the attempt and settles it as cancelled. Its
      // children are cancelled here already so none starts in the meantime.
      extraOf(rec).cancelRequested = reason;
      this.signals.push({ type: 'job.cancel.requested', id: rec.id, owner: rec.owner, reason });
      this.cancelChildren(rec, reason, now);
      return 'cancelling';
    }
    this.finish(rec, 'cancelled', now, undefined, reason);
    return isTerminal(rec.status) ? 'cancelled' : 'cancelling';
  }

  private cancelChildren(rec: Rec, reason: SerializedError, now: number): void {
    for (const childId of rec.extra?.children ?? []) {
      const child = this.records.get(childId);
      if (child && !isTerminal(child.status)) this.cancelTree(child, reason, now);
    }
  }

  private trimRetention(now: number): void {
    for (;;) {
      const head = this.finishedRoots.peek();
      if (!head) return;
      const tooMany = this.finishedRoots.length > this.retentionCount;
      if (!tooMany && head.finishedAt! + this.retentionAgeMs > now) return;
      this.finishedRoots.shift();
      this.dropTree(head);
    }
  }

  private dropTree(root: Rec): void {
    const stack = [root];
    while (stack.length > 0) {
      const rec = stack.pop()!;
      if (!isTerminal(rec.status)) continue; // a fire-and-forget child still running stays
      this.records.delete(rec.id);
      this.tally[rec.status]--;
      const key = rec.extra?.idempotencyKey;
      if (key !== undefined && this.idempotency.get(key) === rec.id) this.idempotency.delete(key);
      if (this.listeners.length > 0) this.signals.push({ type: 'job.dropped', id: rec.id, meta: rec.meta });
      for (const childId of rec.extra?.children ?? []) {
        const child = this.records.get(childId);
        if (child) stack.push(child);
      }
    }
  }

  private emit(rec: Rec, fact: DistributiveOmit<JobEvent, 'id' | 'name' | 'seq' | 'at' | 'parentId' | 'rootId'>): void {
    // The rarer events (delayed, progress, waiting, retrying, failed, cancelled): the common
    // fields in one literal, then the event's own. The three every job has are built whole where
    // they happen (see `publish`).
    const event: Record<string, unknown> = {
      type: fact.type,
      status: fact.status,
      id: rec.id,
      name: rec.name,
      seq: ++rec.eventSeq,
      at: this.opNow,
      parentId: rec.parentId,
      rootId: rec.rootId,
    };
    for (const key in fact) if (key !== 'type' && key !== 'status') event[key] = (fact as Record<string, unknown>)[key];
    this.publish(rec, event as unknown as JobEvent);
  }

  /**
   * Records an event and hands it to listeners. The three events almost every job has (queued,
   * started, completed) are built whole at their call sites: one literal per event, where a
   * common part plus copied-in fields cost a second object and a property store per event.
   */
  private publish(rec: Rec, jobEvent: JobEvent): void {
    if (this.listeners.length > 0) this.signals.push({ type: 'job.event', event: jobEvent });
    if (rec.log.length === 0 && rec.implied === jobEvent.seq - 1 && jobEvent.seq <= this.eventsPerJob && isImplied(rec, jobEvent)) {
      rec.implied = jobEvent.seq;
      return;
    }
    if (rec.implied > 0) {
      // The record no longer explains the job's story on its own: write the implied events out.
      rec.log = [...impliedEvents(rec, rec.implied), ...rec.log];
      rec.implied = 0;
    }
    // Arrays made to size: `push` onto a full array reserves about 1.5x + 16 slots, which for a
    // job's three or four events is two thirds empty space on every record kept for retention.
    let log = rec.log;
    if (log.length >= this.eventsPerJob) log = log.slice(log.length - this.eventsPerJob + 1);
    if (log.length === 0) rec.log = [jobEvent];
    else if (log.length === 1) rec.log = [log[0]!, jobEvent];
    else if (log.length === 2) rec.log = [log[0]!, log[1]!, jobEvent];
    else {
      log.push(jobEvent);
      rec.log = log;
    }
  }

  /**
   * Signals go out only once an operation has finished changing state, so a listener that calls
   * back into the store (a parent cancelling its other children) sees a consistent store.
   */
  private flush(): void {
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

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** @example const store = createMemoryStore({ retention: { count: 1_000 } }); */
export function createMemoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}
