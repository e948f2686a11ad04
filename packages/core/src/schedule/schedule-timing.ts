import { Cron } from 'croner';
import { InputError } from '../errors.js';
import type { ScheduleEvery, ScheduleFire, SchedulePolicy, ScheduleRecord } from '../store/schedule-store.js';

/** A schedule that will never fire again (a cron pattern naming a date that has passed). */
export const neverAgain = Number.MAX_SAFE_INTEGER;

/** Shortest `everyMs`: the tick is driven by timers and store round trips, not a busy loop. */
export const minEveryMs = 100;
/** Longest `everyMs` and longest `graceMs`: a year. */
export const maxEveryMs = 366 * 24 * 3_600_000;
export const defaultGraceMs = 10_000;

/** Cron objects by pattern and zone, so a round over many schedules parses each pattern once. */
const crons = new Map<string, Cron>();
const maxCachedCrons = 1_000;

function cronOf(pattern: string, tz: string | undefined): Cron {
  const id = `${tz ?? ''}\n${pattern}`;
  let cron = crons.get(id);
  if (!cron) {
    // Without a callback croner schedules nothing: it only answers nextRun.
    cron = new Cron(pattern, { timezone: tz ?? 'UTC', paused: true });
    if (crons.size >= maxCachedCrons) crons.delete(crons.keys().next().value!);
    crons.set(id, cron);
  }
  return cron;
}

/**
 * The first tick strictly after `after`. `everyMs` ticks fall on multiples of it since the epoch
 * (as BullMQ's `every` does), so every node computes the same ticks without an anchor.
 */
export function nextTick(every: ScheduleEvery, after: number): number {
  if ('everyMs' in every) return (Math.floor(after / every.everyMs) + 1) * every.everyMs;
  const next = cronOf(every.cron, every.tz).nextRun(new Date(after));
  return next ? next.getTime() : neverAgain;
}

/** Checks and normalises a schedule's timing (same shape on every node, so the store sees an unchanged definition as unchanged). */
export function normaliseEvery(every: ScheduleEvery): ScheduleEvery {
  if ('everyMs' in every) {
    const ms = every.everyMs;
    if (!(Number.isInteger(ms) && ms >= minEveryMs && ms <= maxEveryMs)) {
      throw new InputError('INPUT_INVALID', `everyMs must be an integer from ${minEveryMs} to ${maxEveryMs}, not ${String(ms)}.`);
    }
    return { everyMs: ms };
  }
  const { cron, tz } = every as { cron?: unknown; tz?: unknown };
  if (typeof cron !== 'string' || cron.length > 200) throw new InputError('INPUT_INVALID', 'A schedule needs `cron` (a pattern) or `everyMs`.');
  if (tz !== undefined && (typeof tz !== 'string' || tz.length > 100)) throw new InputError('INPUT_INVALID', '`tz` must be a time-zone name.');
  try {
    if (tz !== undefined) new Intl.DateTimeFormat('en', { timeZone: tz });
    cronOf(cron, tz).nextRun();
  } catch (error) {
    throw new InputError('INPUT_INVALID', `Not a valid cron pattern and time zone: ${cron}${tz === undefined ? '' : ` (${tz})`}.`, { cause: error });
  }
  return tz === undefined ? { cron } : { cron, tz };
}

export function normalisePolicy(policy: Partial<SchedulePolicy> = {}): SchedulePolicy {
  const { missed = 'skip', overlap = 'allow', graceMs = defaultGraceMs } = policy;
  if (missed !== 'skip' && missed !== 'catchUpOne') throw new InputError('INPUT_INVALID', "`missed` must be 'skip' or 'catchUpOne'.");
  if (overlap !== 'skip' && overlap !== 'allow') throw new InputError('INPUT_INVALID', "`overlap` must be 'skip' or 'allow'.");
  if (!(Number.isInteger(graceMs) && graceMs >= 0 && graceMs <= maxEveryMs)) {
    throw new InputError('INPUT_INVALID', `graceMs must be an integer from 0 to ${maxEveryMs}.`);
  }
  return { missed, overlap, graceMs };
}

/**
 * What a node does with a schedule whose tick `nextAt` has come: a tick within `graceMs` of its
 * time runs, and the schedule moves to the tick after it (a round late by several ticks fires
 * each in turn). A tick older than that was missed by every node: under `'catchUpOne'` one job
 * runs for the run of missed ticks, under `'skip'` none; then the schedule moves to its first
 * tick that is still on time. `id` is the job's id if one is made.
 */
export function planFire(schedule: ScheduleRecord, now: number, id: string): ScheduleFire {
  const at = schedule.nextAt;
  const { key, version, every, policy } = schedule;
  if (now - at <= policy.graceMs) return { key, version, at, nextAt: nextTick(every, at), run: true, id };
  return { key, version, at, nextAt: nextTick(every, Math.max(at, now - policy.graceMs)), run: policy.missed === 'catchUpOne', id };
}
