import type { SerializedError } from '../errors.js';
import type { JobStatus } from '../job/job-status.js';
import type { OnChildFailure } from './new-job.js';

// A job as the store reads it back: one record (`get`, `getMany`, `children`), a page of them (`list`), the counts.

export interface JobRecord {
  id: string;
  name: string;
  status: JobStatus;
  input: unknown;
  priority: number;
  attempt: number;
  createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  runAt: number | undefined;
  progress: unknown;
  output: unknown;
  error: SerializedError | undefined;
  parentId: string | undefined;
  rootId: string;
  childKey: string | undefined;
  onFailure: OnChildFailure;
  /** Children spawned or declared, and how many of them have not settled yet. */
  childCount: number;
  pendingChildren: number;
  idempotencyKey: string | undefined;
  meta: Record<string, string> | undefined;
}

/** The most jobs one `list` page holds, whatever `limit` asks. */
export const maxListLimit = 1_000;

export interface ListQuery {
  status?: JobStatus | undefined;
  name?: string | undefined;
  /** Only jobs created at or after this time (epoch ms). */
  since?: number | undefined;
  /**
   * Only jobs whose `meta.tenant` is this tenant. Unset lists every job, whatever its tenant: a
   * caller that serves several tenants always sets it.
   */
  tenant?: string | undefined;
  /** From the previous page's answer; opaque, and only for the store that gave it. */
  cursor?: string | undefined;
  /** At most this many jobs (capped at `maxListLimit`). */
  limit: number;
}

export interface ListPage {
  jobs: JobRecord[];
  /** Present when the walk may go on: pass it back as `cursor`. */
  cursor?: string | undefined;
}

/** How many jobs the store holds in each status (`zeroCounts()` is the empty one). */
export type StoreCounts = Record<JobStatus, number>;
