import type { AnyJobDefinition, JobEvent, JobInput, JobOutput, JobStatus, SerializedError } from '@scalable-api/core';

/**
 * The server's jobs as the client is typed from them: the array given to `createJobSystem`
 * (`const jobs = [resize, album] as const`) or an object of job definitions. Only their types are
 * used, so a type-only import carries them to a browser bundle without the server's code.
 */
export type JobSet = readonly AnyJobDefinition[] | Readonly<Record<string, AnyJobDefinition>>;

type JobUnion<Jobs extends JobSet> = Jobs extends readonly AnyJobDefinition[] ? Jobs[number] : Jobs[keyof Jobs];

/** The names of the jobs: what `submit` takes as its first argument. */
export type JobName<Jobs extends JobSet> = JobUnion<Jobs>['name'];

/** The definition of the job called `N`. */
export type JobNamed<Jobs extends JobSet, N extends JobName<Jobs>> = Extract<JobUnion<Jobs>, { name: N }>;

/** The input of job `N`, as its schema (or `run`'s parameter) declares it. */
export type InputOf<Jobs extends JobSet, N extends JobName<Jobs>> = JobInput<JobNamed<Jobs, N>>;

/** The output of job `N` (what its `run` returns), as it arrives: parsed from JSON. */
export type OutputOf<Jobs extends JobSet, N extends JobName<Jobs>> = JobOutput<JobNamed<Jobs, N>>;

/** Input and options as the rest of a call: the input may be left out when the job takes none. */
export type InputArgs<I, Options> = [undefined] extends [I] ? [input?: I, options?: Options] : [input: I, options?: Options];

/** A job's error, as the API shows it. */
export interface JobErrorView {
  /** The job's error code (`JOB_FAILED`, `JOB_TIMEOUT`, `CHILD_FAILED`, ...). */
  code: string;
  message: string;
  /** The name and message of what the job threw, when it threw. */
  cause?: { name: string; message: string };
  details?: Record<string, unknown>;
}

/**
 * A job as `GET {prefix}/:id` shows it, one variant per job name: narrowing on `name` types `output`.
 * (Fields as in the server's `JobView`; a type test keeps the two equal.)
 */
export type JobView<Jobs extends JobSet = readonly AnyJobDefinition[]> = {
  [N in JobName<Jobs>]: JobViewBase & { name: N; output?: OutputOf<Jobs, N> };
}[JobName<Jobs>];

export interface JobViewBase {
  id: string;
  name: string;
  status: JobStatus;
  progress: unknown;
  attempt: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  runAt: string | null;
  output?: unknown;
  error?: JobErrorView;
  parentId: string | null;
  rootId: string;
  children: { total: number; pending: number };
}

/** A job tree as `GET {prefix}/:id/tree` shows it. */
export interface TreeView {
  id: string;
  name: string;
  status: JobStatus;
  attempt: number;
  progress: unknown;
  /** Mean of the children's progress (a settled child counts 1), or the job's own numeric progress. */
  aggregateProgress: number;
  output?: unknown;
  error?: SerializedError;
  onFailure: 'fail-parent' | 'continue' | 'ignore';
  children: TreeView[];
}

/**
 * One frame of an event stream: a job event (`job.queued` … `job.completed`), or on a tree stream
 * also `tree.progress`, the root's aggregated progress after an event that changed it.
 */
export type StreamEvent = JobEvent | TreeProgressEvent;

export interface TreeProgressEvent {
  type: 'tree.progress';
  /** The job whose tree is streamed. */
  id: string;
  /** 0..1 over the tree (as `aggregateProgress` on the tree). */
  progress: number;
  /** Jobs the stream follows, and how many of them settled. */
  jobs: number;
  settled: number;
}

/** How a job ended, as `Prefer: wait` and `result()` see it. */
export type Outcome<O> = { status: 'completed'; output: O } | { status: 'failed' | 'cancelled'; error: { code: string; message: string } };

/** What `DELETE {prefix}/:id` answers. */
export interface CancelAnswer {
  id: string;
  /** `cancelled` at once; `cancelling` while its runner stops it; `settled` when it had already ended. */
  outcome: 'cancelled' | 'cancelling' | 'settled';
  status: JobStatus;
}
