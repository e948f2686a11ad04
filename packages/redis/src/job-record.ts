import type { JobRecord, JobStatus, OnChildFailure, SerializedError } from '@scalable-api/core';
import { createdAtOf } from './job-birth.js';
import { decodeJson } from './json-codec.js';

/**
 * The hash fields a `JobRecord` is made of, in the order `toJobRecord` reads them: `b`, the birth,
 * holds the created at (`ca` is read for jobs created before births: lua/context.lua).
 */
export const jobRecordFields = [
  's',
  'n',
  'i',
  'p',
  'a',
  'ca',
  'sa',
  'fa',
  'ra',
  'pg',
  'o',
  'e',
  'pa',
  'r',
  'ck',
  'of',
  'cc',
  'pc',
  'ik',
  'm',
  'b',
] as const;

export function toJobRecord(id: string, values: (string | null)[]): JobRecord | undefined {
  const [s, n, i, p, a, ca, sa, fa, ra, pg, o, e, pa, r, ck, of, cc, pc, ik, m, b] = values;
  if (!s) return undefined;
  // Fields at their default are left out, and cleared ones may be '' (see lua/context.lua).
  const num = (v: string | null | undefined) => (v ? Number(v) : undefined);
  const str = (v: string | null | undefined) => (v ? v : undefined);
  return {
    id,
    name: n!,
    status: s as JobStatus,
    input: decodeJson(i),
    priority: p ? Number(p) : 0,
    attempt: a ? Number(a) : 0,
    createdAt: b ? createdAtOf(b) : Number(ca),
    startedAt: num(sa),
    finishedAt: num(fa),
    runAt: num(ra),
    progress: decodeJson(pg),
    output: decodeJson(o),
    error: decodeJson(e) as SerializedError | undefined,
    parentId: str(pa),
    rootId: r || id,
    childKey: str(ck),
    onFailure: (of || 'fail-parent') as OnChildFailure,
    childCount: cc ? Number(cc) : 0,
    pendingChildren: pc ? Number(pc) : 0,
    idempotencyKey: str(ik),
    meta: decodeJson(m) as Record<string, string> | undefined,
  };
}
