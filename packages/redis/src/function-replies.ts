import type { ClaimedJob, EnqueueOutcome, JobStatus, NewJob } from '@scalable-api/core';
import { createdAtOf } from './job-birth.js';
import { decodeJson } from './json-codec.js';

/** Per job of an enqueue: its status (added), or a row (found, refused): see lua/enqueue.lua. */
export type EnqueueRow = string | (string | number)[];

/** An enqueue's reply: per job a row, or a count when every job was added as queued. */
export function enqueueOutcomes(rows: readonly EnqueueRow[] | number, jobs: readonly NewJob[]): EnqueueOutcome[] {
  if (typeof rows === 'number') return jobs.map((job): EnqueueOutcome => ({ ok: true, id: job.id, created: true, status: 'queued' }));
  return rows.map((row, i): EnqueueOutcome => {
    if (typeof row === 'string') return { ok: true, id: jobs[i]!.id, created: true, status: row as JobStatus };
    if (row[0] === 2) {
      const fingerprint = row[4] === '' ? undefined : String(row[4]);
      return { ok: true, id: String(row[1]), created: false, status: row[2] as JobStatus, name: String(row[3]), fingerprint };
    }
    return { ok: false, code: row[1] as 'QUEUE_FULL' | 'JOB_NOT_FOUND' | 'LEASE_LOST' | 'BATCH_ABORTED' };
  });
}

/**
 * A claim's jobs, flat, 10 values each, or 5 for a job with its token negated: on its first
 * attempt, priority 0, no parent, its own root and no meta (lua/claim.lua's header).
 */
export function claimedJobs(flat: readonly (string | number)[]): ClaimedJob[] {
  const jobs: ClaimedJob[] = [];
  for (let i = 0; i < flat.length;) {
    const id = String(flat[i]);
    const token = flat[i + 1] as number;
    if (token < 0) {
      jobs.push({
        id,
        token: -token,
        name: String(flat[i + 2]),
        input: decodeJson(flat[i + 3] as string),
        attempt: 1,
        priority: 0,
        parentId: undefined,
        rootId: id,
        createdAt: createdAtOf(flat[i + 4] as string),
        meta: undefined,
      });
      i += 5;
      continue;
    }
    const parentId = flat[i + 6];
    jobs.push({
      id,
      token: Number(token),
      name: String(flat[i + 2]),
      input: decodeJson(flat[i + 3] as string),
      attempt: Number(flat[i + 4]),
      priority: Number(flat[i + 5]),
      parentId: parentId === '' ? undefined : String(parentId),
      rootId: String(flat[i + 7]),
      createdAt: createdAtOf(flat[i + 8] as string),
      meta: decodeJson(flat[i + 9] as string) as Record<string, string> | undefined,
    });
    i += 10;
  }
  return jobs;
}

/** The ids of a claim's jobs (see `claimedJobs`), read before anything else is. */
export function claimedIds(flat: readonly (string | number)[]): string[] {
  const ids: string[] = [];
  for (let i = 0; i < flat.length; i += (flat[i + 1] as number) < 0 ? 5 : 10) ids.push(String(flat[i]));
  return ids;
}
