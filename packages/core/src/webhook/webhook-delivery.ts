import type { SerializedError } from '../errors.js';
import type { TerminalStatus } from '../job/job-status.js';
import type { NewJob } from '../store/new-job.js';

/**
 * The built-in job type that POSTs a settled job's outcome to its callback URL. The store
 * creates one in the same atomic step that settles a job submitted with `webhook` (the memory
 * store in memory-tree.ts, the Redis store in lua/webhook.lua), so a node that dies between the
 * two cannot lose it; a node with `webhooks` configured runs it like any job (retries, back-off,
 * listed, visible in the dashboard).
 */
export const webhookJobName = 'webhook.deliver';

/**
 * The input of a delivery job, written by the store at settlement: the outcome is copied, so a
 * redelivery sends the same body however long after, even once retention dropped the job.
 * Both stores write exactly this shape (the store conformance suite compares them).
 */
export interface WebhookDelivery {
  url: string;
  jobId: string;
  name: string;
  status: TerminalStatus;
  /** Epoch ms of the settlement. */
  finishedAt: number;
  output?: unknown;
  error?: SerializedError;
}

/**
 * The delivery job's id: the settled job's id and a suffix, so there is one delivery per job, it
 * is found from the job, and on a sharded store (`<shard>.<rest>` ids) it names the same shard.
 */
export function deliveryJobId(jobId: string): string {
  return `${jobId}.webhook`;
}

/** The delivery job the memory store adds when a job with a webhook settles (lua/webhook.lua writes the same). */
export function deliveryJobOf(
  settled: { id: string; name: string; meta: Record<string, string> | undefined },
  url: string,
  status: TerminalStatus,
  finishedAt: number,
  output: unknown,
  error: SerializedError | undefined,
): NewJob {
  const input: WebhookDelivery = { url, jobId: settled.id, name: settled.name, status, finishedAt };
  if (output !== undefined) input.output = output;
  if (error !== undefined) input.error = error;
  const job: NewJob = { id: deliveryJobId(settled.id), name: webhookJobName, input, priority: 0 };
  // The tenant's: over HTTP its owner sees its deliveries, nobody else does.
  if (settled.meta !== undefined) job.meta = settled.meta;
  return job;
}
