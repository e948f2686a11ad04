import { InputError } from '../errors.js';
import { maxListLimit, type JobRecord, type ListPage, type ListQuery } from './job-store.js';
import { toRecord, type Rec } from './memory-record.js';
import type { MemoryState } from './memory-state.js';

/**
 * Jobs one `list` call examines at most, matching or not: a listing filtered down to a rare
 * status among a million jobs answers in pages of bounded work (short or empty, with a cursor)
 * instead of one long scan.
 */
const SCAN_PER_CALL = 10_000;

/**
 * The memory store's `list`: a walk of `state.order` (every job, in submission order), started
 * by binary search at the cursor or at `since`.
 */
export function listJobs(state: MemoryState, query: ListQuery): ListPage {
  const { order, records } = state;
  const limit = Math.min(Math.max(Math.floor(query.limit), 1), maxListLimit);
  let i = query.cursor !== undefined ? firstAfter(order, parseCursor(query.cursor)) : query.since !== undefined ? firstSince(order, query.since) : 0;
  const jobs: JobRecord[] = [];
  const end = Math.min(order.length, i + SCAN_PER_CALL);
  for (; i < end && jobs.length < limit; i++) {
    const rec = order[i]!;
    if (records.get(rec.id) !== rec) continue; // dropped, not yet compacted away
    if (query.status !== undefined && rec.status !== query.status) continue;
    if (query.name !== undefined && rec.name !== query.name) continue;
    if (query.since !== undefined && rec.createdAt < query.since) continue;
    if (query.tenant !== undefined && rec.meta?.['tenant'] !== query.tenant) continue;
    jobs.push(toRecord(rec));
  }
  return i < order.length ? { jobs, cursor: `m.${order[i - 1]!.seq.toString(36)}` } : { jobs };
}

/** Keeps `state.order` from holding on to dropped jobs: compacts once they are half of it. */
export function noteDropped(state: MemoryState): void {
  if (++state.orderDropped < 1_024 || state.orderDropped * 2 < state.order.length) return;
  state.order = state.order.filter((rec) => state.records.get(rec.id) === rec);
  state.orderDropped = 0;
}

function parseCursor(cursor: string): number {
  const match = /^m\.([0-9a-z]{1,11})$/.exec(cursor);
  if (!match) throw new InputError('CURSOR_INVALID', 'The listing cursor is malformed or was not given by this store.');
  return parseInt(match[1]!, 36);
}

/** The first index whose job was submitted after the one with `seq` (`order` is sorted by seq). */
function firstAfter(order: readonly Rec[], seq: number): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index created at or after `since`: creation times grow with submission order. */
function firstSince(order: readonly Rec[], since: number): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]!.createdAt < since) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
