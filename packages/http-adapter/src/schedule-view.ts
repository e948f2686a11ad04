import type { ScheduleInfo } from '@scalable-api/core';

/** The last instant a Date holds (`neverAgain` lies beyond it). */
const maxDateMs = 8.64e15;

/** A schedule as the routes show it: times as ISO strings, `job` for the job type. */
export interface ScheduleView {
  key: string;
  job: string;
  input: unknown;
  cron?: string;
  tz?: string;
  everyMs?: number;
  missed: 'skip' | 'catchUpOne';
  overlap: 'skip' | 'allow';
  graceMs: number;
  /** The next tick; null for a cron pattern that never matches again. */
  nextAt: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  lastAt: string | null;
  lastJobId: string | null;
}

export function scheduleView(info: ScheduleInfo): ScheduleView {
  const view: ScheduleView = {
    key: info.key,
    job: info.name,
    input: info.input,
    ...('everyMs' in info.every
      ? { everyMs: info.every.everyMs }
      : { cron: info.every.cron, ...(info.every.tz !== undefined && { tz: info.every.tz }) }),
    missed: info.policy.missed,
    overlap: info.policy.overlap,
    graceMs: info.policy.graceMs,
    nextAt: info.nextAt > maxDateMs ? null : new Date(info.nextAt).toISOString(),
    version: info.version,
    createdAt: new Date(info.createdAt).toISOString(),
    updatedAt: new Date(info.updatedAt).toISOString(),
    lastAt: info.lastAt === undefined ? null : new Date(info.lastAt).toISOString(),
    lastJobId: info.lastJobId ?? null,
  };
  return view;
}
