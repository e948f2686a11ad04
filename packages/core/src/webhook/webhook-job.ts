import type { Clock } from '../clock.js';
import { NonRetryableError } from '../errors.js';
import { defineJob } from '../job/define-job.js';
import { DestinationRefusedError, postWebhook } from './post-webhook.js';
import { refusedUrl } from './webhook-destination.js';
import { deliveryJobId, webhookJobName, type WebhookDelivery } from './webhook-delivery.js';
import type { WebhookPolicy } from './webhook-options.js';

/** The body of a webhook: a Standard Webhooks payload (`type`, `timestamp`, `data`). */
export interface WebhookPayload {
  type: `job.${WebhookDelivery['status']}`;
  /** The settlement's time, ISO 8601: the same on every redelivery. */
  timestamp: string;
  data: Pick<WebhookDelivery, 'name' | 'status' | 'finishedAt' | 'output' | 'error'> & { id: string };
}

/** What a delivery job's output says: the receiver's answer and the message's id. */
export interface WebhookReceipt {
  webhookId: string;
  status: number;
}

export function webhookPayload(delivery: WebhookDelivery): WebhookPayload {
  const data: WebhookPayload['data'] = { id: delivery.jobId, name: delivery.name, status: delivery.status, finishedAt: delivery.finishedAt };
  if (delivery.output !== undefined) data.output = delivery.output;
  if (delivery.error !== undefined) data.error = delivery.error;
  return { type: `job.${delivery.status}`, timestamp: new Date(delivery.finishedAt).toISOString(), data };
}

/**
 * The built-in `webhook.deliver` job a system with `webhooks` runs: signs the outcome the store
 * copied into its input (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) and POSTs it. A 2xx answer completes it; anything else, a timeout or a
 * network error fails the try, retried with back-off up to `attempts`. A destination the policy
 * refuses now (the allowlist changed, or the host resolves to a refused address) fails it at once.
 * `webhook-id` is the delivery job's id, derived from the settled job's: the same on every try,
 * so a receiver drops duplicates by it, and `GET {prefix}/<webhook-id>` shows the delivery.
 */
export function webhookDeliveryJob(policy: WebhookPolicy, clock: Clock) {
  return defineJob({
    name: webhookJobName,
    retry: { attempts: policy.attempts, backoff: policy.backoff },
    // A backstop only: each try bounds itself by timeoutMs.
    timeoutMs: policy.timeoutMs + 5_000,
    async run(delivery: WebhookDelivery, ctx): Promise<WebhookReceipt> {
      const refused = refusedUrl(policy, delivery.url);
      if (refused !== undefined) throw new NonRetryableError(refused);
      const body = JSON.stringify(webhookPayload(delivery));
      const webhookId = deliveryJobId(delivery.jobId);
      // Signed at each try with the time of the try: receivers refuse old timestamps (replays).
      const at = new Date(clock.now());
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'scalable-api-webhooks',
        'webhook-id': webhookId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1_000)),
        'webhook-signature': policy.signer.sign(webhookId, at, body),
      };
      let status: number;
      let answer: string;
      try {
        ({ status, body: answer } = await postWebhook(policy, new URL(delivery.url), headers, body, ctx.signal));
      } catch (error) {
        if (error instanceof DestinationRefusedError) throw new NonRetryableError(error.message, { cause: error });
        throw error;
      }
      if (status < 200 || status > 299) throw new Error(`The receiver answered ${status}${answer ? `: ${answer}` : ''}`);
      return { webhookId, status };
    },
  });
}
