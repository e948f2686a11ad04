import type { SerializedError } from '../errors.js';
import type { JobEvent } from '../events.js';
import type { JobRecord } from './job-store.js';

/**
 * One job. Only what every job uses lives on the record itself; what few jobs have (tree
 * bookkeeping, an idempotency key, progress, a cancel request, lost leases) lives in `extra`,
 * made on first need. A million queued jobs are a million of these, and each field is 8 bytes
 * of every one: the split took a record from 37 words to 24.
 */
export interface Rec extends Omit<JobRecord, RareField> {
  seq: number;
  token: number;
  owner: string | undefined;
  leaseExpiresAt: number;
  /**
   * The events after the implied ones (see implied-events.ts). Empty while every event so far is
   * implied: then the first `eventSeq` events are, and no field says how many (one word of every
   * record, the one the flow key took).
   */
  log: JobEvent[];
  /** The seq of the job's newest event: each event is made with `++rec.eventSeq` and logged. */
  eventSeq: number;
  /** The flow key (`NewJob.key`): its queue within the name and what its limits count by. */
  key: string | undefined;
  extra: RecExtra | undefined;
}

/** The fields of a `JobRecord` kept in `RecExtra` rather than on the record. */
type RareField = 'progress' | 'childKey' | 'onFailure' | 'childCount' | 'pendingChildren' | 'idempotencyKey';

export interface RecExtra extends Pick<JobRecord, RareField> {
  /** Declared trees: queued by the store when the last child settles. */
  declared: boolean;
  children: string[] | undefined;
  childKeys: Map<string, string> | undefined;
  /** How the job ended, held back until its last child settles: a parent settles after its children. */
  deferred: { status: 'completed' | 'failed' | 'cancelled'; output: unknown; error: SerializedError | undefined } | undefined;
  fingerprint: string | undefined;
  cancelRequested: SerializedError | undefined;
  /** Times its lease ran out. */
  stalls: number;
  /** Counted by its key's concurrency limit while it runs (see MemoryState.move). */
  counted: boolean;
  /** The callback URL (`NewJob.webhook`): its settlement adds a delivery job. */
  webhook: string | undefined;
}

/** Reads a record and its id string (the claim hashes the id next): see `lookAhead`. */
export function isQueued(rec: Rec): boolean {
  return rec.status === 'queued' && rec.id.length > 0;
}

export function newExtra(): RecExtra {
  return {
    progress: undefined,
    childKey: undefined,
    onFailure: 'fail-parent',
    childCount: 0,
    pendingChildren: 0,
    declared: false,
    children: undefined,
    childKeys: undefined,
    deferred: undefined,
    idempotencyKey: undefined,
    fingerprint: undefined,
    cancelRequested: undefined,
    stalls: 0,
    counted: false,
    webhook: undefined,
  };
}

export function extraOf(rec: Rec): RecExtra {
  return (rec.extra ??= newExtra());
}

/** The log of a job whose events are all implied; never written to (`emit` replaces it). */
export const NO_EVENTS: JobEvent[] = [];

/** The record as the store contract shows it, detached from the store's own. */
export function toRecord(rec: Rec): JobRecord {
  return {
    id: rec.id,
    name: rec.name,
    status: rec.status,
    input: rec.input,
    priority: rec.priority,
    attempt: rec.attempt,
    createdAt: rec.createdAt,
    startedAt: rec.startedAt,
    finishedAt: rec.finishedAt,
    runAt: rec.runAt,
    progress: rec.extra?.progress,
    output: rec.output,
    error: rec.error,
    parentId: rec.parentId,
    rootId: rec.rootId,
    childKey: rec.extra?.childKey,
    onFailure: rec.extra?.onFailure ?? 'fail-parent',
    childCount: rec.extra?.childCount ?? 0,
    pendingChildren: rec.extra?.pendingChildren ?? 0,
    idempotencyKey: rec.extra?.idempotencyKey,
    meta: rec.meta,
  };
}
