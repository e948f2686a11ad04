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
/** Runs one step of `list_build` (lua/list-build.lua) with these arguments; answers 1 once the index is complete. */
export type ListBuild = (args: string[]) => Promise<unknown>;

/** Job keys one build step looks at (SCAN COUNT), and jobs it puts into the index: a few ms of Redis each. */
const BUILD_SCAN = 2_000;
const BUILD_PLACE = 1_000;
/**
 * Build steps one `list` runs at most before it answers from the index as it stands: a store of
 * up to ~100,000 keys (its own and others' on the same server) is complete by the end of its first
 * listing, a bigger one after a few more.
 */
const BUILD_STEPS_PER_CALL = 64;

/**
 * The Redis store's `list`: the walk of the listing index (every job held, by the seq it was
 * created with) from the cursor, in FCALLs of SCAN_PER_FCALL entries until the page is full or
 * SCAN_PER_CALL entries were examined. The cursor is the seq of the last entry examined.
 *
 * The index exists only once a store is listed (lua/listing.lua): when the first FCALL says it is
 * incomplete, up to BUILD_STEPS_PER_CALL steps of its build run first, and the walk starts again.
 */
export async function listJobs(read: ListRead, build: ListBuild, query: ListQuery): Promise<ListPage> {
  const first = await walk(read, query, true);
  if (first.built) return first.page;
  for (let step = 0; step < BUILD_STEPS_PER_CALL; step++) {
    if ((await build([String(BUILD_SCAN), String(BUILD_PLACE)])) === 1) break;
  }
  // Complete now, or as far as this call's steps took it (a listing in the meantime: docs/scaling-out.md).
  return (await walk(read, query, false)).page;
}

/** `probe`: stop after the first FCALL if the index is incomplete (`built` false), to build it first. */
async function walk(read: ListRead, query: ListQuery, probe: boolean): Promise<{ page: ListPage; built: boolean }> {
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
    const [ids, values, next, complete] = (await read([
      after,
      String(SCAN_PER_FCALL),
      String(limit - jobs.length),
      ...filter,
      ...recordFieldArgs,
    ])) as [string[], (string | null)[][], string, number];
    // The first FCALL tells: an incomplete index is built before the page is read (listJobs).
    if (probe && complete !== 1) return { page: { jobs }, built: false };
    ids.forEach((id, i) => {
      const record = toJobRecord(id, values[i]!);
      if (record) jobs.push(record);
    });
    if (next === '') return { page: { jobs }, built: true };
    after = next;
    if (jobs.length >= limit) break;
  }
  return { page: { jobs, cursor: `r.${Number(after).toString(36)}` }, built: true };
}

function parseCursor(cursor: string): string {
  const match = /^r\.([0-9a-z]{1,11})$/.exec(cursor);
  const seq = match ? parseInt(match[1]!, 36) : NaN;
  if (!Number.isSafeInteger(seq)) throw new InputError('CURSOR_INVALID', 'The listing cursor is malformed or was not given by this store.');
  return String(seq);
}
