import { quarantinedError, type SerializedError } from '../errors.js';
import { queuedEvent, releasedEvent, retryingEvent, startedEvent } from '../events.js';
import type { FairQueue } from './fair-queue.js';
import type { ClaimedJob, ClaimRequest, ClaimResult, FlowControl } from './job-store.js';
import { extraOf, isQueued, type Rec } from './memory-record.js';
import type { MemoryState } from './memory-state.js';
import { continueCascades, finishJob } from './memory-tree.js';

/**
 * The memory store's claim: due delayed jobs are promoted and lapsed leases swept first, then up
 * to `max` ready jobs are handed out, highest priority first, oldest first within a priority.
 */
export function claimReady(state: MemoryState, request: ClaimRequest): ClaimResult {
  const now = state.begin();
  promoteDue(state, now);
  expireLeases(state, now);
  const jobs: ClaimedJob[] = [];
  const capacity = request.capacity ? new Map(request.capacity) : undefined;
  const names = request.names ?? [...state.ready.keys()];
  // A node holds at most one suspect (a job one lease loss away from quarantine) at a time, as
  // in the Redis store (see its claim script): a job that takes its node down must not take the
  // same neighbours down with it a third time. A suspect left behind is claimed shortly.
  const suspectAt = Math.max(1, state.maxStalls - 1);
  const held = state.suspects.get(request.owner);
  let suspectOut = held !== undefined && held.owner === request.owner && (held.status === 'running' || held.status === 'waitingChildren');
  if (held && !suspectOut) state.suspects.delete(request.owner);
  if (request.max > 1) lookAhead(state, names, request.max);
  const scope: ClaimScope = { now, flow: request.flow, heldBackUntil: undefined };
  if (state.gates.size > 1_024 && now >= state.nextGateSweep) {
    state.gates.sweep(now);
    state.nextGateSweep = now + 1_000;
  }
  const deferred: Rec[] = [];
  while (jobs.length < request.max && deferred.length < 1_000) {
    const rec = nextReady(state, names, capacity, scope);
    if (!rec) break;
    if ((rec.extra?.stalls ?? 0) >= suspectAt) {
      if (suspectOut) {
        deferred.push(rec);
        continue;
      }
      suspectOut = true;
      state.suspects.set(request.owner, rec);
    }
    if (capacity?.has(rec.name)) capacity.set(rec.name, capacity.get(rec.name)! - 1);
    const flow = request.flow?.get(rec.name);
    if (flow) passGates(state, rec, flow, now);
    state.move(rec, 'running');
    rec.attempt++;
    rec.token++;
    rec.owner = request.owner;
    rec.leaseExpiresAt = now + request.leaseMs;
    rec.startedAt = now;
    rec.runAt = undefined;
    state.leased.set(rec.id, rec);
    if (rec.leaseExpiresAt < state.nextExpiry) state.nextExpiry = rec.leaseExpiresAt;
    state.publish(rec, startedEvent(rec, ++rec.eventSeq, now, rec.attempt));
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
  for (const rec of deferred) state.ready.get(rec.name)!.push(rec);
  let nextRunAt = state.delayed.peekKey();
  // Held back by a rate limit or a push-back: the dispatcher wakes when the gate opens.
  if (scope.heldBackUntil !== undefined && (nextRunAt === undefined || scope.heldBackUntil < nextRunAt)) nextRunAt = scope.heldBackUntil;
  if (deferred.length > 0 && (nextRunAt === undefined || nextRunAt > now + 250)) nextRunAt = now + 250;
  return { jobs, nextRunAt };
}

/**
 * Reads the records a claim is about to take, all at once, before taking them. On a long queue
 * each is a cache miss (a million queued jobs are ~370 MB of heap); misses issued back
 * to back overlap, while the claim loop, with a job's worth of work between two of them, waited
 * for each in turn: the first read of a record was a third of the time of in-process dispatch.
 */
function lookAhead(state: MemoryState, names: readonly string[], max: number): void {
  let queued = 0;
  for (const name of names) queued += state.ready.get(name)?.countAhead(max, isQueued) ?? 0;
  state.lookedAhead = queued;
}

/** What one claim knows besides its request: the time, and the earliest a gate that held a job back opens. */
interface ClaimScope {
  now: number;
  flow: ReadonlyMap<string, FlowControl> | undefined;
  heldBackUntil: number | undefined;
}

/**
 * Picks the best head across the job names this claim may take: highest priority, then oldest.
 * Within a name, keys take turns (fair-queue.ts), and the store's flow control — the name's rate
 * limit and push-back, each key's, a per-key concurrency limit — holds back what may not go now.
 */
function nextReady(state: MemoryState, names: readonly string[], capacity: Map<string, number> | undefined, scope: ClaimScope): Rec | undefined {
  let best: Rec | undefined;
  let bestName: string | undefined;
  for (const name of names) {
    if (capacity && (capacity.get(name) ?? 1) <= 0) continue;
    if (state.paused.size > 0 && state.paused.has(name)) continue;
    const queue = state.ready.get(name);
    if (!queue) continue;
    const head = scope.flow?.has(name) || state.gates.size > 0 || queue.fair ? gatedHead(state, name, queue, scope) : queue.head(open);
    if (head && (!best || head.priority > best.priority || (head.priority === best.priority && head.seq < best.seq))) {
      best = head;
      bestName = name;
    }
  }
  if (best) {
    const flow = scope.flow?.get(bestName!);
    state.ready.get(bestName!)!.take(flow?.weights === undefined || best.key === undefined ? 1 : (flow.weights[best.key] ?? 1));
  }
  return best;
}

const open = () => false;

function gatedHead(state: MemoryState, name: string, queue: FairQueue<Rec>, scope: ClaimScope): Rec | undefined {
  const { now } = scope;
  const flow = scope.flow?.get(name);
  const rate = flow?.rate;
  const typeAt = state.gates.readyAt(name, undefined, rate && !rate.perKey ? rate : undefined, now);
  if (typeAt > now) {
    if (queue.fair || queue.has(undefined)) heldBack(scope, typeAt);
    return undefined;
  }
  const keyRate = rate?.perKey ? rate : undefined;
  const limit = flow?.concurrencyPerKey;
  return queue.head((key) => {
    if (limit !== undefined && key !== undefined && (queue.running.get(key) ?? 0) >= limit) return true;
    // Unkeyed jobs of a name limited per key share one bucket, the key ''.
    if (key === undefined && !keyRate) return false;
    const at = state.gates.readyAt(name, key ?? '', keyRate, now);
    if (at <= now) return false;
    heldBack(scope, at);
    return true;
  });
}

function heldBack(scope: ClaimScope, at: number): void {
  if (scope.heldBackUntil === undefined || at < scope.heldBackUntil) scope.heldBackUntil = at;
}

/** A job handed out goes through its name's gates: a token of each rate limit, a place under its key's concurrency limit. */
function passGates(state: MemoryState, rec: Rec, flow: FlowControl, now: number): void {
  const rate = flow.rate;
  if (rate) state.gates.take(rec.name, rate.perKey ? (rec.key ?? '') : undefined, rate, now);
  if (flow.concurrencyPerKey !== undefined && rec.key !== undefined) {
    const running = state.ready.get(rec.name)!.running;
    running.set(rec.key, (running.get(rec.key) ?? 0) + 1);
    // Counted until it stops running (MemoryState.move).
    extraOf(rec).counted = true;
  }
}

export function promoteDue(state: MemoryState, now: number): void {
  let promoted = false;
  while (state.delayed.size > 0 && state.delayed.peekKey()! <= now) {
    const rec = state.delayed.pop()!;
    if (rec.status !== 'delayed' || rec.runAt === undefined || rec.runAt > now) continue;
    state.move(rec, 'queued');
    rec.runAt = undefined;
    state.pushReady(rec);
    state.publish(rec, queuedEvent(rec, ++rec.eventSeq, now));
    promoted = true;
  }
  if (promoted) state.signals.push({ type: 'work.available' });
}

/** A lease that ran out means its owner died or stalled: the job goes back to the queue. */
function expireLeases(state: MemoryState, now: number): void {
  if (now < state.nextExpiry) return;
  let next = Infinity;
  const lapsed: Rec[] = [];
  for (const rec of state.leased.values()) {
    if (rec.leaseExpiresAt > now) {
      if (rec.leaseExpiresAt < next) next = rec.leaseExpiresAt;
    } else lapsed.push(rec);
  }
  // Lapsed leases go back in one order on every store: by expiry, then by id (the Redis store
  // reads them from a sorted set, where equal scores sort by member). Which of them a claim of
  // fewer than all of them gets must not depend on the store.
  lapsed.sort((a, b) => a.leaseExpiresAt - b.leaseExpiresAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const rec of lapsed) {
    state.release(rec);
    const extra = extraOf(rec);
    extra.stalls++;
    // A job whose cancel was requested while it ran is settled, never handed out again.
    if (extra.cancelRequested) finishJob(state, rec, 'cancelled', undefined, extra.cancelRequested);
    else if (extra.stalls >= state.maxStalls) finishJob(state, rec, 'failed', undefined, quarantinedError(extra.stalls));
    else requeue(state, rec, now, undefined);
  }
  state.nextExpiry = next;
  continueCascades(state);
}

/** Back to the queue after an attempt: at once, or delayed until `runAt`; `error` makes it a retry. */
export function requeue(state: MemoryState, rec: Rec, runAt: number, error: SerializedError | undefined): void {
  const now = state.now;
  const later = runAt > now;
  state.move(rec, later ? 'delayed' : 'queued');
  rec.runAt = later ? runAt : undefined;
  if (later) state.delayed.push(runAt, rec);
  else state.pushReady(rec);
  // Announced when delayed too, like a delayed submit: the claim that follows reports when it
  // falls due, so a dispatcher wakes for it rather than at its next poll.
  state.signals.push({ type: 'work.available' });
  if (error) state.publish(rec, retryingEvent(rec, ++rec.eventSeq, now, later ? 'delayed' : 'queued', rec.attempt, runAt, error));
  else state.publish(rec, queuedEvent(rec, ++rec.eventSeq, now));
}

/** A released job: queued again as if the attempt had not been claimed (see `Settlement`). */
export function giveBack(state: MemoryState, rec: Rec): void {
  // The event first: it writes out the implied `job.started` from the record as it still is.
  state.publish(rec, releasedEvent(rec, ++rec.eventSeq, state.now));
  state.move(rec, 'queued');
  rec.attempt--;
  if (rec.attempt === 0) rec.startedAt = undefined;
  state.pushReady(rec);
  state.signals.push({ type: 'work.available' });
}
