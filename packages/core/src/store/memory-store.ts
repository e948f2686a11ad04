import { defaultCancelError, type SerializedError } from '../errors.js';
import { delayedEvent, progressEvent, queuedEvent, resumedEvent, waitingEvent, type JobEvent } from '../events.js';
import { isTerminal, type JobStatus } from '../job/job-status.js';
import type {
  CancelOutcome,
  ClaimRequest,
  ClaimResult,
  EnqueueOptions,
  EnqueueOutcome,
  JobRecord,
  JobStore,
  LeaseRef,
  ListPage,
  ListQuery,
  NewJob,
  RenewOutcome,
  Settlement,
  SettleOutcome,
  StoreCounts,
  StoreListener,
} from './job-store.js';
import { claimReady, giveBack, requeue } from './memory-claim.js';
import { listJobs } from './memory-list.js';
import { extraOf, NO_EVENTS, toRecord, type Rec } from './memory-record.js';
import { MemorySchedules } from './memory-schedules.js';
import { MemoryState, type MemoryStoreOptions } from './memory-state.js';
import type {
  ScheduleDefinition,
  ScheduleFire,
  ScheduleFireOutcome,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleUpsertOutcome,
} from './schedule-store.js';
import { cancelJob, finishJob, trimRetention } from './memory-tree.js';

export type { MemoryStoreOptions } from './memory-state.js';

/**
 * The embedded store: zero setup and the fastest, and honest about it — a crash loses
 * everything it holds (`durable: false`). It implements leases and fencing like the Redis store
 * so the runtime has one code path and the conformance suite holds both to the same contract.
 */
export class MemoryStore implements JobStore {
  readonly durable = false;
  private readonly state: MemoryState;
  private readonly scheduled: MemorySchedules;

  constructor(options: MemoryStoreOptions = {}) {
    this.state = new MemoryState(options);
    this.scheduled = new MemorySchedules(this.state, (job, limit) => this.enqueueOne(job, limit));
  }

  async enqueue(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
    const state = this.state;
    state.begin();
    const out: EnqueueOutcome[] = [];
    if (options.atomic) {
      if (state.tally.queued + state.tally.delayed + this.countNew(jobs) > options.limit) return jobs.map(() => ({ ok: false, code: 'QUEUE_FULL' }));
      const conflicts = this.conflicts(jobs);
      if (conflicts) return conflicts;
    }
    let available = false;
    for (const job of jobs) {
      const outcome = this.enqueueOne(job, options.limit);
      // A delayed job announces itself too: the claim that follows reports when it falls due.
      if (outcome.ok && outcome.created && outcome.status !== 'waitingChildren') available = true;
      out.push(outcome);
    }
    if (available) state.signals.push({ type: 'work.available' });
    state.flush();
    return out;
  }

  /** How many jobs of a batch would be added and count against the bound (not found by a key, not declared parents). */
  private countNew(jobs: readonly NewJob[]): number {
    const { records, idempotency } = this.state;
    let count = 0;
    for (const job of jobs) {
      if ((job.awaitChildren ?? 0) > 0) continue;
      if (job.idempotencyKey !== undefined && records.has(idempotency.get(job.idempotencyKey) ?? '')) continue;
      const parent = job.parentId === undefined ? undefined : records.get(job.parentId);
      if (parent && job.childKey !== undefined && records.has(parent.extra?.childKeys?.get(job.childKey) ?? '')) continue;
      count++;
    }
    return count;
  }

  /**
   * An atomic batch with a job whose idempotency key another job holds with another name or
   * fingerprint is refused whole: that job answers as found (the caller sees whose key it is),
   * the others `BATCH_ABORTED`. `undefined` when there is no such job.
   */
  private conflicts(jobs: readonly NewJob[]): EnqueueOutcome[] | undefined {
    const { records, idempotency } = this.state;
    let out: EnqueueOutcome[] | undefined;
    jobs.forEach((job, i) => {
      if (job.idempotencyKey === undefined) return;
      const existing = records.get(idempotency.get(job.idempotencyKey) ?? '');
      if (!existing || (existing.name === job.name && existing.extra?.fingerprint === job.fingerprint)) return;
      out ??= jobs.map(() => ({ ok: false, code: 'BATCH_ABORTED' }));
      out[i] = found(existing);
    });
    return out;
  }

  private enqueueOne(job: NewJob, limit: number): EnqueueOutcome {
    const state = this.state;
    const now = state.now;
    if (job.idempotencyKey !== undefined) {
      const existing = state.records.get(state.idempotency.get(job.idempotencyKey) ?? '');
      if (existing) return found(existing);
    }
    const parent = job.parentId === undefined ? undefined : state.records.get(job.parentId);
    if (job.parentId !== undefined && (!parent || isTerminal(parent.status))) return { ok: false, code: 'JOB_NOT_FOUND' };
    // A spawn from an attempt that no longer holds its parent (a zombie after a lapsed lease).
    if (parent && job.parentToken !== undefined && !state.holds(parent, job.parentToken)) return { ok: false, code: 'LEASE_LOST' };
    if (parent && job.childKey !== undefined) {
      const existing = state.records.get(parent.extra?.childKeys?.get(job.childKey) ?? '');
      if (existing) return found(existing);
    }
    const declared = (job.awaitChildren ?? 0) > 0;
    if (!declared && state.tally.queued + state.tally.delayed >= limit) return { ok: false, code: 'QUEUE_FULL' };

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
      seq: state.submitSeq++,
      token: 0,
      owner: undefined,
      leaseExpiresAt: 0,
      log: NO_EVENTS,
      implied: 0,
      eventSeq: 0,
      // '' is no key: the plain queue.
      key: job.key || undefined,
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
    state.records.set(rec.id, rec);
    state.order?.add(rec);
    if (job.idempotencyKey !== undefined) state.idempotency.set(job.idempotencyKey, rec.id);
    if (parent) {
      const tree = extraOf(parent);
      (tree.children ??= []).push(rec.id);
      if (job.childKey !== undefined) (tree.childKeys ??= new Map()).set(job.childKey, rec.id);
      tree.childCount++;
      // A declared parent counts its children up front (awaitChildren); a spawning parent counts here.
      if (!tree.declared) tree.pendingChildren++;
    }
    state.tally[status]++;
    if (status === 'queued') {
      state.pushReady(rec);
      state.publish(rec, queuedEvent(rec, ++rec.eventSeq, now));
    } else if (status === 'delayed') {
      state.delayed.push(rec.runAt!, rec);
      state.publish(rec, delayedEvent(rec, ++rec.eventSeq, now, rec.runAt!));
    } else {
      state.publish(rec, waitingEvent(rec, ++rec.eventSeq, now));
    }
    return { ok: true, id: rec.id, created: true, status };
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.claimNow(request);
  }

  claimNow(request: ClaimRequest): ClaimResult {
    const result = claimReady(this.state, request);
    trimRetention(this.state);
    this.state.flush();
    return result;
  }

  async renew(leases: readonly LeaseRef[], leaseMs: number): Promise<RenewOutcome[]> {
    const state = this.state;
    const now = state.begin();
    return leases.map((lease): RenewOutcome => {
      const rec = state.held(lease);
      if (!rec || rec.leaseExpiresAt <= now) return { held: false };
      rec.leaseExpiresAt = now + leaseMs;
      const cancel = rec.extra?.cancelRequested;
      return cancel ? { held: true, cancel } : { held: true };
    });
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    const state = this.state;
    state.begin();
    const out = settlements.map((s): SettleOutcome => {
      const rec = state.held(s);
      if (!rec) return 'stale';
      state.release(rec);
      const cancel = rec.extra?.cancelRequested;
      if (s.outcome === 'completed') finishJob(state, rec, 'completed', s.output, undefined);
      else if (s.outcome === 'cancelled') finishJob(state, rec, 'cancelled', undefined, s.error);
      // Asked to stop while it ran: a retry or a hand-back would only run it again, and a failure
      // is what the cancel set off (its cascade cancelled a child before the owner heard of the
      // cancel itself, so under 'fail-parent' the parent fails with CHILD_FAILED).
      else if (cancel) finishJob(state, rec, 'cancelled', undefined, cancel);
      else if (s.outcome === 'failed') finishJob(state, rec, 'failed', undefined, s.error);
      else if (s.outcome === 'retry') {
        rec.error = s.error;
        requeue(state, rec, s.runAt, s.error);
      } else {
        if (s.pushBack) state.gates.pushBack(rec.name, s.pushBack);
        giveBack(state, rec);
      }
      return 'ok';
    });
    trimRetention(state);
    state.flush();
    return out;
  }

  async setWaiting(lease: LeaseRef, waiting: boolean): Promise<boolean> {
    return this.onHeld(lease, (rec, now) => {
      const target = waiting ? 'waitingChildren' : 'running';
      if (rec.status === target) return;
      this.state.move(rec, target);
      this.state.publish(rec, waiting ? waitingEvent(rec, ++rec.eventSeq, now) : resumedEvent(rec, ++rec.eventSeq, now, rec.attempt));
    });
  }

  async progress(lease: LeaseRef, value: unknown): Promise<boolean> {
    return this.onHeld(lease, (rec, now) => {
      extraOf(rec).progress = value;
      this.state.publish(rec, progressEvent(rec, ++rec.eventSeq, now, rec.status as 'running' | 'waitingChildren', value));
    });
  }

  /** Changes a job through a lease its attempt holds; `false` (and no change) when it does not. */
  private onHeld(lease: LeaseRef, change: (rec: Rec, now: number) => void): boolean {
    const now = this.state.begin();
    const rec = this.state.held(lease);
    if (!rec) return false;
    change(rec, now);
    this.state.flush();
    return true;
  }

  async cancel(id: string, reason: SerializedError = defaultCancelError): Promise<CancelOutcome> {
    const state = this.state;
    state.begin();
    const rec = state.records.get(id);
    if (!rec) return 'not_found';
    const outcome = cancelJob(state, rec, reason);
    state.flush();
    return outcome;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const rec = this.state.records.get(id);
    return rec ? toRecord(rec) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    return ids.map((id) => {
      const rec = this.state.records.get(id);
      return rec ? toRecord(rec) : undefined;
    });
  }

  async children(id: string): Promise<JobRecord[]> {
    const { records } = this.state;
    const out: JobRecord[] = [];
    for (const childId of records.get(id)?.extra?.children ?? []) {
      const child = records.get(childId);
      if (child) out.push(toRecord(child));
    }
    return out;
  }

  async events(id: string, afterSeq: number): Promise<JobEvent[]> {
    const rec = this.state.records.get(id);
    return rec ? this.state.log.read(rec, afterSeq) : [];
  }

  async counts(): Promise<StoreCounts> {
    return { ...this.state.tally };
  }

  async list(query: ListQuery): Promise<ListPage> {
    return listJobs(this.state, query);
  }

  async upsertSchedule(definition: ScheduleDefinition): Promise<ScheduleUpsertOutcome> {
    return this.scheduled.upsert(definition);
  }

  async removeSchedule(key: string): Promise<boolean> {
    return this.scheduled.remove(key);
  }

  async schedules(query: ScheduleQuery): Promise<ScheduleRecord[]> {
    return this.scheduled.list(query);
  }

  async fireSchedules(fires: readonly ScheduleFire[], options: EnqueueOptions): Promise<ScheduleFireOutcome[]> {
    return this.scheduled.fire(fires, options);
  }

  async pauseType(name: string): Promise<void> {
    this.scheduled.pause(name);
  }

  async resumeType(name: string): Promise<void> {
    this.scheduled.resume(name);
  }

  async pausedTypes(): Promise<string[]> {
    return this.scheduled.paused();
  }

  subscribe(listener: StoreListener): () => void {
    this.state.listeners.push(listener);
    return () => {
      this.state.listeners = this.state.listeners.filter((l) => l !== listener);
    };
  }

  async close(): Promise<void> {
    this.state.closed = true;
    this.state.listeners = [];
  }
}

/** An enqueue answered by a job found through its idempotency or child key. */
function found(existing: Rec): EnqueueOutcome {
  return { ok: true, id: existing.id, created: false, status: existing.status, name: existing.name, fingerprint: existing.extra?.fingerprint };
}

/** @example const store = createMemoryStore({ retention: { count: 1_000 } }); */
export function createMemoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}
