import type { ActorsView, JobEvent, JobStatus, JobSystemStats, TreeNode, WorkerView } from '@scalable-api/core';
import type { JobTypeFlowView } from '../flow-view.js';
import type { JobView } from '../job-view.js';
import type { ScheduleView } from '../schedule-view.js';
import type { RecentJob } from './recent-jobs.js';
import type { SeriesPoint } from './throughput-series.js';

// What the dashboard's page receives: the JSON of `api/overview` and of every `api/live` message.
// The page's script (app.js, plain JavaScript) takes its JSDoc types from here, so the server and
// the page cannot disagree on a field without the typecheck saying so.

/** The node's state as one dashboard message shows it. */
export interface Overview {
  at: number;
  nodeId: string;
  durable: boolean;
  /** `node`: every job this node sees. `tenant`: only the caller's jobs, counted in the recent window (see `tenantOverview`). */
  scope: 'node' | 'tenant';
  stats: JobSystemStats;
  actors: DashboardActors | null;
  recent: {
    size: number;
    capacity: number;
    admitPerSecond: number;
    skipped: number;
    byStatus: Partial<Record<JobStatus, number>>;
    names: string[];
  };
  jobNames: string[];
}

/** Worker tiles, capped; a tile whose job belongs to another tenant is `hidden` and names no job. */
export type DashboardActors = Omit<ActorsView, 'workers'> & { workers: (WorkerView & { hidden?: true })[]; workersTotal: number };

/** A job page: the record, its event timeline and its tree (capped). */
export interface JobDetail {
  job: JobView;
  events: JobEvent[];
  tree: TreeNode | null;
  treeCap: number;
}

/** One message of the live feed (`api/live`): each part only when it changed for this tab. */
export interface FeedMessage {
  overview: Overview;
  points?: SeriesPoint[];
  list?: { jobs: RecentJob[]; matched: number };
  job?: JobDetail | null;
}

/** The answer of `api/list`: a page of the store's listing (`GET {prefix}`), as the page's table shows it. */
export interface ListAnswer {
  jobs: { id: string; name: string; status: JobStatus; attempt: number; createdAt: number; child: boolean }[];
  cursor?: string;
}

/** The answer of `api/overview`: the same parts, all of them. */
export interface OverviewAnswer {
  overview: Overview;
  list: { jobs: RecentJob[]; matched: number };
  points: SeriesPoint[];
}

/** `api/schedules`: the store's schedules (at most 100, by next tick) and paused job types; empty for a caller who is not an admin. */
export interface SchedulesAnswer {
  schedules: ScheduleView[];
  paused: string[];
}

/** `api/flow`: per job type its flow control (see `GET {prefix}/flow`), 5 flow keys each; empty for a caller who is not an admin. */
export interface FlowAnswer {
  jobTypes: JobTypeFlowView[];
}
