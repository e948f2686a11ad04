import type { JobRecord, JobStatus, OnChildFailure, SerializedError } from '@scalable-api/core';
import { decodeJson } from './json-codec.js';

/** The hash fields a `JobRecord` is made of, in the order `toJobRecord` reads them. */
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
] as const;

export function toJobRecord(id: string, values: (string | null)[]): JobRecord | undefined {
  const [s, n, i, p, a, ca, sa, fa, ra, pg, o, e, pa, r, ck, of, cc, pc, ik, m] = values;
  if (!s) return undefined;
  // Cleared fields are written as '' (see lua/context.lua): both mean "not set".
  const num = (v: string | null | undefined) => (v ? Number(v) : undefined);
  const str = (v: string | null | undefined) => (v ? v : undefined);
  return {
    id,
    name: n!,
    status: s as JobStatus,
    input: decodeJson(i),
    priority: Number(p),
    attempt: Number(a),
    createdAt: Number(ca),
    startedAt: num(sa),
    finishedAt: num(fa),
    runAt: num(ra),
    progress: decodeJson(pg),
    output: decodeJson(o),
    error: decodeJson(e) as SerializedError | undefined,
    parentId: str(pa),
    rootId: r!,
    childKey: str(ck),
    onFailure: of as OnChildFailure,
    childCount: Number(cc),
    pendingChildren: Number(pc),
    idempotencyKey: str(ik),
    meta: decodeJson(m) as Record<string, string> | undefined,
  };
}
