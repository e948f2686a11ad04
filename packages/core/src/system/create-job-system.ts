import { nanoid } from 'nanoid';
import { systemClock } from '../clock.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import { silentLogger } from '../logger.js';
import { createMemoryStore } from '../store/memory-store.js';
import { JobSystemFacade } from './job-system-facade.js';
import type { JobSystem, JobSystemOptions } from './job-system.js';
import { NodeRuntime } from './node-runtime.js';
import { NodeState } from './node-state.js';
import { webhookJobName } from '../webhook/webhook-delivery.js';
import { webhookDeliveryJob } from '../webhook/webhook-job.js';
import { webhookPolicy } from '../webhook/webhook-options.js';

/**
 * Creates a job system: the supervisor, dispatcher and workers over a store, behind the
 * `JobSystem` facade. `workers: 0` makes a producer node that accepts, answers, cancels and
 * streams but never claims.
 *
 * @example
 * const system = createJobSystem({ jobs: [resize], workers: 8, queue: { limit: 10_000 } });
 * await system.start();
 * const handle = await system.submit(resize, { width: 64 });
 * console.log(await handle.result());
 */
export function createJobSystem<const Jobs extends readonly AnyJobDefinition[]>(options: JobSystemOptions<Jobs>): JobSystem<Jobs> {
  if (!(Number.isInteger(options.workers) && options.workers >= 0)) {
    throw new TypeError('createJobSystem: workers must be a whole number (0 for a producer node that runs no jobs)');
  }
  const clock = options.clock ?? systemClock;
  const nodeId = options.nodeId ?? `node-${nanoid(10)}`;
  const jobs = new Map<string, Jobs[number]>();
  for (const job of options.jobs) {
    if (jobs.has(job.name)) throw new TypeError(`createJobSystem: two jobs are named ${job.name}`);
    jobs.set(job.name, job);
  }
  // Jobs submitted with a webhook are delivered by the built-in job, which every such node runs.
  const webhooks = options.webhooks === undefined ? undefined : webhookPolicy(options.webhooks);
  if (webhooks) {
    if (jobs.has(webhookJobName)) throw new TypeError(`createJobSystem: ${webhookJobName} is the built-in webhook job's name`);
    jobs.set(webhookJobName, webhookDeliveryJob(webhooks, clock) as unknown as Jobs[number]);
  }
  const store = options.store ?? createMemoryStore({ clock, ...(options.retention ? { retention: options.retention } : {}) });
  const node = new NodeRuntime({
    options,
    nodeId,
    store,
    jobs,
    clock,
    logger: options.logger ?? silentLogger,
    state: new NodeState(nodeId, options.workers, clock, options.sampleMs ?? 1_000),
    queueLimit: options.queue?.limit ?? 10_000,
    leaseMs: options.leaseMs ?? 30_000,
  });
  return new JobSystemFacade<Jobs>(node, options.store === undefined, webhooks);
}
