import type { JobEvent, JobRecord } from '@scalable-api/core';
import { jobEventsFromHash } from './job-events.js';
import { jobRecordFields, toJobRecord } from './job-record.js';

/** Runs one of the library's read-only functions (no clock, no configuration) with these arguments. */
export type FunctionRead = (args: string[]) => Promise<unknown>;

/** Jobs per read call: a call reads this many records at most, so none holds Redis for long. */
const READ_SLICE = 500;
const recordFieldArgs = [String(jobRecordFields.length), ...jobRecordFields];

/** Records by id (`get_many`, lua/read.lua), undefined for a job not held. */
export async function readRecords(read: FunctionRead, ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
  // Slices keep each call short on Redis; sent together, they still make one round trip.
  const slices: Promise<unknown>[] = [];
  for (let i = 0; i < ids.length; i += READ_SLICE) slices.push(read([...recordFieldArgs, ...ids.slice(i, i + READ_SLICE)]));
  const replies = (await Promise.all(slices)) as (string | null)[][][];
  return replies.flat().map((values, i) => toJobRecord(ids[i]!, values));
}

/** A job's children in the order they were spawned (`children`), a slice per call. */
export async function readChildren(read: FunctionRead, id: string): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  for (let offset = 0; ; offset += READ_SLICE) {
    const [ids, values] = (await read([id, String(offset), String(READ_SLICE), ...recordFieldArgs])) as [string[], (string | null)[][]];
    ids.forEach((childId, i) => {
      const record = toJobRecord(childId, values[i]!);
      if (record) out.push(record);
    });
    if (ids.length < READ_SLICE) return out;
  }
}

/** A job's events after `afterSeq` (`events`): the implied ones from its record, the stored ones from its events hash. */
export async function readEvents(read: FunctionRead, id: string, afterSeq: number): Promise<JobEvent[]> {
  const [job, stored] = (await read([id])) as [string[], string[]];
  return jobEventsFromHash(id, pairs(job), pairs(stored), afterSeq);
}

/** An HGETALL reply as an object. */
function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
