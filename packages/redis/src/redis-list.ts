import { InputError, maxListLimit, type JobRecord, type ListPage, type ListQuery } from '@scalable-api/core';
import { jobRecordFields, toJobRecord } from './job-record.js';

/** Index entries one `list` FCALL examines at most, matching or not: a call stays within a few ms. */
const SCAN_PER_FCALL = 1_000;
/**
 * Entries one `list` examines at most over its FCALLs, as the memory store's bound: a listing
 * filtered down to a rare status among a million jobs answers in pages of bounded work (short or
 * empty, with a cursor) instead of one long scan.
 */
const SCAN_PER_CALL = 10_000;
const recordFieldArgs = [String(jobRecordFields.length), ...jobRecordFields];

/** Runs the library's read-only `list` function (lua/list.lua) with these arguments. */
export type ListRead = (args: string[]) => Promise<unknown>;

/**
 * The Redis store's `list`: the walk of `{p}:created` (every job held, by the seq it was created
 * with) from the cursor, in FCALLs of SCAN_PER_FCALL entries until the page is full or
 * SCAN_PER_CALL entries were examined. The cursor is the seq of the last entry examined.
 */
export async function listJobs(read: ListRead, query: ListQuery): Promise<ListPage> {
  const limit = Math.min(Math.max(Math.floor(query.limit), 1), maxListLimit);
  let after = query.cursor === undefined ? '' : parseCursor(query.cursor);
  const filter = [
    query.status ?? '',
    query.name ?? '',
    query.since === undefined ? '' : String(Math.floor(query.since)),
    query.tenant === undefined ? '' : `=${query.tenant}`,
  ];
  const jobs: JobRecord[] = [];
  for (let examined = 0; examined < SCAN_PER_CALL; examined += SCAN_PER_FCALL) {
    const [ids, values, next] = (await read([after, String(SCAN_PER_FCALL), String(limit - jobs.length), ...filter, ...recordFieldArgs])) as [
      string[],
      (string | null)[][],
      string,
    ];
    ids.forEach((id, i) => {
      const record = toJobRecord(id, values[i]!);
      if (record) jobs.push(record);
    });
    if (next === '') return { jobs };
    after = next;
    if (jobs.length >= limit) break;
  }
  return { jobs, cursor: `r.${Number(after).toString(36)}` };
}

function parseCursor(cursor: string): string {
  const match = /^r\.([0-9a-z]{1,11})$/.exec(cursor);
  const seq = match ? parseInt(match[1]!, 36) : NaN;
  if (!Number.isSafeInteger(seq)) throw new InputError('CURSOR_INVALID', 'The listing cursor is malformed or was not given by this store.');
  return String(seq);
}
