import { defaultCancelError, type SerializedError } from '../errors.js';
import { progressEvent, resumedEvent, waitingEvent, type JobEvent } from '../events.js';
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
import type { FlowNameStats, FlowStatsQuery } from './flow-stats.js';
import { claimReady, giveBack, requeue } from './memory-claim.js';
import { memoryFlowStats } from './memory-flow-stats.js';
import { enqueueJobs, enqueueOne } from './memory-enqueue.js';
import { listJobs } from './memory-list.js';
import { extraOf, toRecord, type Rec } from './memory-record.js';
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
import { cancelJob, cascadesDone, cascadesPending, finishJob, trimRetention } from './memory-tree.js';

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
    // Inside the settling call, so the settlement and its delivery job are one step; past the bound.
    this.state.addDelivery = (job) => {
      enqueueOne(this.state, job, Infinity);
      this.state.signals.push({ type: 'work.available' });
    };
    this.scheduled = new MemorySchedules(this.state, (job, limit) => enqueueOne(this.state, job, limit));
  }

  async enqueue(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
    return enqueueJobs(this.state, jobs, options);
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
    // Answered once what the settlements set off is done (in slices: see memory-tree.ts),
    // retention included: trees it finished may be due to leave.
    if (cascadesPending(state)) await cascadesDone(state);
    trimRetention(state);
    if (cascadesPending(state)) await cascadesDone(state);
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
    const outcome = await cancelJob(state, rec, reason);
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

  async flowStats(query: FlowStatsQuery): Promise<FlowNameStats[]> {
    return memoryFlowStats(this.state, query);
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

/** @example const store = createMemoryStore({ retention: { count: 1_000 } }); */
export function createMemoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}
