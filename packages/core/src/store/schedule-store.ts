import type { EnqueueOptions } from './job-store.js';

/** When a schedule fires: a cron pattern (5 or 6 fields, in `tz`, default UTC), or every `everyMs` (aligned to the epoch). */
export type ScheduleEvery = { cron: string; tz?: string | undefined } | { everyMs: number };

export interface SchedulePolicy {
  /**
   * A tick no node fired within `graceMs` of its time (every node was down, or the queue was
   * full) is missed: `'skip'` drops it, `'catchUpOne'` runs one job for all the ticks missed in
   * a row. Either way the schedule then carries on from its next tick that is still on time.
   */
  missed: 'skip' | 'catchUpOne';
  /** `'skip'`: a tick whose previous run has not ended yet (queued, running, waiting) runs nothing. */
  overlap: 'skip' | 'allow';
  graceMs: number;
}

/** A schedule as the caller defines it; see `ScheduleStore.upsertSchedule`. */
export interface ScheduleDefinition {
  key: string;
  /** The job type each tick runs, with `input` (validated when the schedule was defined). */
  name: string;
  input: unknown;
  every: ScheduleEvery;
  policy: SchedulePolicy;
  /** Carried by every job it runs (tenant); the store adds `schedule: <key>`. */
  meta?: Record<string, string> | undefined;
  /** The first tick, computed by the caller from `every` and the store's clock. */
  nextAt: number;
}

export interface ScheduleRecord extends ScheduleDefinition {
  /** Grows with every change of the definition: a fire planned from an older one is `stale`. */
  version: number;
  createdAt: number;
  updatedAt: number;
  /** The last tick fired or passed over, and the job the last fired tick made. */
  lastAt: number | undefined;
  lastJobId: string | undefined;
}

/**
 * One tick taken by a node: the store checks that the schedule is still at `version` and its
 * next tick is still `at` — so of all nodes that planned the same tick, exactly one takes it —
 * and in the same atomic step enqueues the tick's job (idempotency key `schedule:<key>:<at>`,
 * id `id`) and moves the next tick to `nextAt`.
 */
export interface ScheduleFire {
  key: string;
  version: number;
  at: number;
  nextAt: number;
  /** `false`: pass the tick over without a job (a missed tick under `missed: 'skip'`). */
  run: boolean;
  /** The id the job gets if one is made (`store.newId({ scheduleKey })` places it beside the schedule). */
  id: string;
}

export type ScheduleFireOutcome =
  | { outcome: 'fired'; id: string }
  /** Moved on without a job: `run: false`, or the previous run is still going under `overlap: 'skip'`. */
  | { outcome: 'skipped' }
  /** Another node took the tick, or the schedule changed or went: nothing was done. */
  | { outcome: 'stale' }
  /** Nothing was done; the tick is tried again (and missed after `graceMs`). */
  | { outcome: 'refused'; code: 'QUEUE_FULL' | 'STORE_UNAVAILABLE' };

export interface ScheduleQuery {
  /** Only schedules whose next tick is at or before this time. */
  dueBy?: number | undefined;
  /** At most this many (capped at `maxSchedules`). */
  limit: number;
}

/** The most schedules one store holds; an upsert of a new key past it is refused with `SCHEDULES_FULL`. */
export const maxSchedules = 10_000;

/**
 * Schedules, held by the store so that any number of nodes fire each tick exactly once. Nodes
 * compute tick times (cron needs a time-zone database, which Lua has not); the store decides
 * who takes a tick, atomically (see `ScheduleFire`).
 */
export interface ScheduleStore {
  /**
   * Creates or replaces the schedule `key`. A definition equal to the stored one (every node
   * declaring the same schedule at start) changes nothing, so its next tick is kept.
   */
  upsertSchedule(definition: ScheduleDefinition): Promise<ScheduleUpsertOutcome>;
  /** `false` when there was no such schedule. Jobs it already made are not touched. */
  removeSchedule(key: string): Promise<boolean>;
  /** Ordered by next tick, then key. */
  schedules(query: ScheduleQuery): Promise<ScheduleRecord[]>;
  fireSchedules(fires: readonly ScheduleFire[], options: EnqueueOptions): Promise<ScheduleFireOutcome[]>;
}

export type ScheduleUpsertOutcome = { ok: true; created: boolean; record: ScheduleRecord } | { ok: false; code: 'SCHEDULES_FULL' };

/**
 * Paused job types, held by the store so every node sees them: a paused type's jobs stay queued
 * (and counted against the bound) and no claim hands them out until it is resumed.
 */
export interface PauseStore {
  pauseType(name: string): Promise<void>;
  /** Announces `work.available`, so idle nodes claim what waited. */
  resumeType(name: string): Promise<void>;
  pausedTypes(): Promise<string[]>;
}

/** The idempotency key of a schedule's tick: a second take of the same tick finds the first job. */
export function scheduleTickKey(key: string, at: number): string {
  return `schedule:${key}:${at}`;
}

/** The same definition, compared as text (input, meta and policy included). */
export function scheduleFingerprint(definition: Omit<ScheduleDefinition, 'nextAt'>): string {
  const { key, name, input, every, policy, meta } = definition;
  return JSON.stringify([key, name, input ?? null, every, policy, meta ?? null]);
}
