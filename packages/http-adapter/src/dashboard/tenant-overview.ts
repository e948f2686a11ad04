import { jobStatuses, type JobStatus } from '@scalable-api/core';
import type { Overview } from './feed-message.js';
import type { RecentJob, RecentJobs } from './recent-jobs.js';

/**
 * The overview as one tenant may see it. The node's numbers count every tenant's jobs and its
 * worker tiles name whatever job each runs, so a tenant gets its own jobs' counts instead (from
 * the dashboard's window of recent jobs, which is what it can list), worker tiles without another
 * tenant's job, and no node-wide charts. What stays is the node's own state: health, supervisor,
 * how many workers exist and are busy.
 */
export async function tenantOverview(node: Overview, recent: RecentJobs, visible: (job: RecentJob) => Promise<boolean>): Promise<Overview> {
  const { jobs } = await recent.query({ limit: recent.capacity, visible });
  const byStatus: Partial<Record<JobStatus, number>> = {};
  const names = new Set<string>();
  let completedRecently = 0;
  for (const job of jobs) {
    byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
    names.add(job.name);
    if (job.status === 'completed' && job.updatedAt > node.at - 10_000) completedRecently++;
  }
  const count = (status: JobStatus) => byStatus[status] ?? 0;
  const mine = new Set(jobs.map((job) => job.id));
  const actors = node.actors && {
    ...node.actors,
    workers: node.actors.workers.map((worker) =>
      worker.job && !mine.has(worker.job.id) ? { ...worker, job: undefined, hidden: true as const } : worker,
    ),
  };
  return {
    ...node,
    scope: 'tenant',
    stats: {
      ...node.stats,
      ...(Object.fromEntries(jobStatuses.map((status) => [status, count(status)])) as Record<JobStatus, number>),
      submitted: jobs.length,
      rejected: 0,
      rates: { submitted: 0, completed: completedRecently / 10, failed: 0 },
    },
    actors,
    recent: { ...node.recent, ...{ byStatus, names: [...names].sort() } },
  };
}
