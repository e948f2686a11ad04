import { childFailedError, parentEndedError, type SerializedError } from '../errors.js';
import { cancelledEvent, completedEvent, failedEvent, queuedEvent, waitingEvent } from '../events.js';
import { isTerminal, type TerminalStatus } from '../job/job-status.js';
import { deliveryJobOf } from '../webhook/webhook-delivery.js';
import type { CancelOutcome } from './job-store.js';
import { extraOf, type Rec } from './memory-record.js';
import type { MemoryState } from './memory-state.js';

// Job trees in the memory store: a parent settles after its last child, a failed or cancelled
// parent takes its unfinished subtree with it, and finished trees leave by retention.
//
// No step here recurses. A settled child is put on `state.settledChildren`, a job to cancel on
// `state.toCancel`, a finished job to drop on `state.toDrop`, and one loop (`workCascades`)
// works the lists: a pagination chain 100,000 deep settles up, and a parent of 100,000 children
// is cancelled, in constant stack. It works them a slice at a time: a cascade over 100,000 jobs
// in one synchronous stretch held the event loop for 0.4-1.2 s (timers, sockets, every other
// job of the process waiting), so past a slice the rest goes on in later turns of the event loop.
// The store's async calls (`cancel`, `settle`) still answer once their cascade is done; between
// slices other calls may run and see it partly done, as on the Redis store (work.lua).

/** Cascade steps (one job settled, cancelled or dropped) worked in one stretch of the event loop. */
export const CASCADE_SLICE = 2_000;

/**
 * Ends a job (released from its lease first). A job with unsettled children holds its outcome
 * back and waits for them; otherwise it settles and its parent hears of it. Works a slice of the
 * cascade it starts now and the rest in later turns (see `continueCascades`).
 */
export function finishJob(state: MemoryState, rec: Rec, status: TerminalStatus, output: unknown, error: SerializedError | undefined): void {
  settle(state, rec, status, output, error);
  if (!state.cascading) continueCascades(state);
}

/**
 * Cancels a job and its whole subtree: what is not running ends now; a running job is marked
 * and its owner is asked to stop. Answers as `JobStore.cancel` does, once the cascade is done.
 */
export async function cancelJob(state: MemoryState, rec: Rec, reason: SerializedError): Promise<CancelOutcome> {
  if (isTerminal(rec.status)) return 'settled';
  // Running, or already ending and only waiting for its children: its end comes later.
  const later = rec.owner !== undefined || rec.extra?.deferred !== undefined;
  state.toCancel.push(rec);
  state.cancelReasons.push(reason);
  if (!workCascades(state, CASCADE_SLICE)) await cascadesDone(state);
  return !later && isTerminal(rec.status) ? 'cancelled' : 'cancelling';
}

/** Works a slice of the cascade lists now and, when that does not empty them, the rest in later turns. */
export function continueCascades(state: MemoryState): void {
  if (!workCascades(state, CASCADE_SLICE)) scheduleCascades(state);
}

/**
 * Works what is left of the cascade lists, a slice per turn of the event loop (the signals of a
 * slice go out before the next; the caller has worked one slice already): for the store's async
 * calls, which answer once their cascade is done.
 */
export async function cascadesDone(state: MemoryState): Promise<void> {
  while (cascadesPending(state)) {
    state.flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (state.closed) return;
    state.begin();
    workCascades(state, CASCADE_SLICE);
  }
}

function scheduleCascades(state: MemoryState): void {
  if (state.cascadeScheduled) return;
  state.cascadeScheduled = true;
  setImmediate(() => {
    state.cascadeScheduled = false;
    if (state.closed) return;
    state.begin();
    if (workCascades(state, CASCADE_SLICE)) trimRetention(state);
    else scheduleCascades(state);
    state.flush();
  });
}

/** Whether cascade work is left: the store's calls await `cascadesDone` only then, so a call that set off none stays one synchronous step. */
export function cascadesPending(state: MemoryState): boolean {
  return state.settledChildren.length > 0 || state.toCancel.length > 0 || state.toDrop.length > 0;
}

/** Works the cascade lists for at most `budget` steps; true when they are empty. */
export function workCascades(state: MemoryState, budget = Infinity): boolean {
  if (state.cascading) return false;
  state.cascading = true;
  try {
    for (let steps = 0; steps < budget; steps++) {
      const child = state.settledChildren.pop();
      if (child) {
        childSettled(state, child);
        continue;
      }
      const rec = state.toCancel.pop();
      if (rec) {
        cancelOne(state, rec, state.cancelReasons.pop()!);
        continue;
      }
      const dropped = state.toDrop.pop();
      if (!dropped) return true;
      dropOne(state, dropped);
    }
    return state.settledChildren.length === 0 && state.toCancel.length === 0 && state.toDrop.length === 0;
  } finally {
    state.cascading = false;
  }
}

function settle(state: MemoryState, rec: Rec, status: TerminalStatus, output: unknown, error: SerializedError | undefined): void {
  state.release(rec);
  const extra = rec.extra;
  if (extra && extra.pendingChildren > 0) {
    // A job tree settles bottom-up: the parent's outcome waits for its last child. A parent
    // that failed or was cancelled takes its unfinished subtree with it (nobody could use those
    // results); one that completed early lets its children finish.
    extra.deferred = { status, output, error };
    if (rec.status !== 'waitingChildren') {
      state.move(rec, 'waitingChildren');
      state.publish(rec, waitingEvent(rec, ++rec.eventSeq, state.now));
    }
    if (status !== 'completed') cancelChildren(state, rec, parentEndedError(rec.id, status));
    return;
  }
  if (extra) extra.deferred = undefined;
  state.move(rec, status);
  const now = state.now;
  rec.finishedAt = now;
  rec.output = output;
  rec.error = error;
  if (status === 'completed') state.publish(rec, completedEvent(rec, ++rec.eventSeq, now, output));
  else if (status === 'failed') state.publish(rec, failedEvent(rec, ++rec.eventSeq, now, error!));
  else state.publish(rec, cancelledEvent(rec, ++rec.eventSeq, now, error!));
  if (extra?.webhook !== undefined) state.addDelivery(deliveryJobOf(rec, extra.webhook, status, now, output, error));
  if (rec.parentId === undefined) state.finishedRoots.push(rec);
  else state.settledChildren.push(rec);
}

function childSettled(state: MemoryState, child: Rec): void {
  const parent = state.records.get(child.parentId!);
  if (!parent || isTerminal(parent.status)) return;
  const tree = extraOf(parent);
  tree.pendingChildren--;
  if (tree.deferred) {
    if (tree.pendingChildren === 0) settle(state, parent, tree.deferred.status, tree.deferred.output, tree.deferred.error);
    return;
  }
  // Dynamic parents are woken by the child's event on the node that runs them; declared
  // parents have no code running yet, so the store itself decides what happens to them.
  if (!tree.declared || parent.status !== 'waitingChildren') return;
  if (child.status !== 'completed' && (child.extra?.onFailure ?? 'fail-parent') === 'fail-parent') {
    settle(state, parent, 'failed', undefined, childFailedError(child));
  } else if (tree.pendingChildren === 0) {
    state.move(parent, 'queued');
    state.pushReady(parent);
    state.publish(parent, queuedEvent(parent, ++parent.eventSeq, state.now));
    state.signals.push({ type: 'work.available' });
  }
}

function cancelOne(state: MemoryState, rec: Rec, reason: SerializedError): void {
  if (isTerminal(rec.status)) return;
  const extra = rec.extra;
  // Cancelled before: its subtree was cancelled then, and what a running attempt spawns after is
  // cancelled when its owner settles it. Cascading again would walk the whole subtree once more
  // on every such call: quadratic in a deep chain of waiting parents that each settle on their own.
  if (extra?.cancelRequested) return;
  if (extra?.deferred) {
    // Already ending, waiting for its children. A failed or cancelled end has cancelled them;
    // one that completed early lets them run, so hurry them along (once), keeping its outcome.
    if (extra.deferred.status !== 'completed') return;
    extra.cancelRequested = reason;
    cancelChildren(state, rec, reason);
  } else if (rec.owner !== undefined) {
    // Running somewhere: the owner aborts the attempt and settles it as cancelled. Its
    // children are cancelled here already so none starts in the meantime.
    extraOf(rec).cancelRequested = reason;
    state.signals.push({ type: 'job.cancel.requested', id: rec.id, owner: rec.owner, reason });
    cancelChildren(state, rec, reason);
  } else {
    settle(state, rec, 'cancelled', undefined, reason);
  }
}

function cancelChildren(state: MemoryState, rec: Rec, reason: SerializedError): void {
  const children = rec.extra?.children;
  if (!children) return;
  // Pushed last first, so they are cancelled in spawn order.
  for (let i = children.length - 1; i >= 0; i--) {
    const child = state.records.get(children[i]!);
    if (!child || isTerminal(child.status)) continue;
    state.toCancel.push(child);
    state.cancelReasons.push(reason);
  }
}

/**
 * Drops the oldest finished trees past the retention count or age: each tree's jobs go on
 * `state.toDrop`, worked with the other cascades (a slice now, the rest in later turns).
 */
export function trimRetention(state: MemoryState): void {
  let due = false;
  for (;;) {
    const head = state.finishedRoots.peek();
    if (!head) break;
    const tooMany = state.finishedRoots.length > state.retentionCount;
    if (!tooMany && head.finishedAt! + state.retentionAgeMs > state.now) break;
    state.finishedRoots.shift();
    state.toDrop.push(head);
    due = true;
  }
  if (due && !state.cascading) continueCascades(state);
}

function dropOne(state: MemoryState, rec: Rec): void {
  if (!isTerminal(rec.status)) return; // a fire-and-forget child still running stays
  state.records.delete(rec.id);
  state.order?.remove(rec);
  state.tally[rec.status]--;
  const key = rec.extra?.idempotencyKey;
  if (key !== undefined && state.idempotency.get(key) === rec.id) state.idempotency.delete(key);
  if (state.listeners.length > 0) state.signals.push({ type: 'job.dropped', id: rec.id, meta: rec.meta });
  for (const childId of rec.extra?.children ?? []) {
    const child = state.records.get(childId);
    if (child) state.toDrop.push(child);
  }
}
