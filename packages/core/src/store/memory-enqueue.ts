import { delayedEvent, queuedEvent, waitingEvent } from '../events.js';
import { isTerminal, type JobStatus } from '../job/job-status.js';
import type { EnqueueOptions, EnqueueOutcome, NewJob } from './job-store.js';
import { extraOf, NO_EVENTS, type Rec } from './memory-record.js';
import type { MemoryState } from './memory-state.js';

/**
 * The memory store's enqueue: a batch of new jobs, each checked against the queue bound, its
 * idempotency key, its parent (alive, still held by the spawning attempt) and its spawn key, in
 * one step. An atomic batch is checked whole first (see `EnqueueOptions.atomic`).
 */
export function enqueueJobs(state: MemoryState, jobs: readonly NewJob[], options: EnqueueOptions): EnqueueOutcome[] {
  state.begin();
  const out: EnqueueOutcome[] = [];
  if (options.atomic) {
    if (state.tally.queued + state.tally.delayed + countNew(state, jobs) > options.limit) return jobs.map(() => ({ ok: false, code: 'QUEUE_FULL' }));
    const refused = conflicts(state, jobs);
    if (refused) return refused;
  }
  let available = false;
  for (const job of jobs) {
    const outcome = enqueueOne(state, job, options.limit);
    // A delayed job announces itself too: the claim that follows reports when it falls due.
    if (outcome.ok && outcome.created && outcome.status !== 'waitingChildren') available = true;
    out.push(outcome);
  }
  if (available) state.signals.push({ type: 'work.available' });
  state.flush();
  return out;
}

/** How many jobs of a batch would be added and count against the bound (not found by a key, not declared parents). */
function countNew(state: MemoryState, jobs: readonly NewJob[]): number {
  const { records, idempotency } = state;
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
function conflicts(state: MemoryState, jobs: readonly NewJob[]): EnqueueOutcome[] | undefined {
  const { records, idempotency } = state;
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

/** One job of a batch (the schedules enqueue a tick's job through it too); the caller flushes. */
export function enqueueOne(state: MemoryState, job: NewJob, limit: number): EnqueueOutcome {
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
    eventSeq: 0,
    // '' is no key: the plain queue.
    key: job.key || undefined,
    extra: undefined,
  };
  if (parent || declared || job.idempotencyKey !== undefined || job.webhook !== undefined) {
    const extra = extraOf(rec);
    extra.webhook = job.webhook;
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

/** An enqueue answered by a job found through its idempotency or child key. */
function found(existing: Rec): EnqueueOutcome {
  return { ok: true, id: existing.id, created: false, status: existing.status, name: existing.name, fingerprint: existing.extra?.fingerprint };
}
