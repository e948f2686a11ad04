import { jobStatuses, type AnyJobDefinition } from '@scalable-api/core';
import type { FastifySchema } from 'fastify';
import { inputSchema, problemSchema } from './openapi.js';
import { idempotencyKeySchema, webhookUrlSchema } from './submit-routes.js';

/** One item of a batch: the job's input and, optionally, its own idempotency key. */
export function batchItemSchema(job: AnyJobDefinition): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    // A job without a schema takes no input as well as any.
    ...(job.schema !== undefined ? { required: ['input'] } : {}),
    properties: {
      input: inputSchema(job),
      idempotencyKey: { ...idempotencyKeySchema, description: "This item's own key (scoped by tenant, shared with single submits)" },
    },
  };
}

/** The problem document of a refused item; `instance` names the item (`…/batch#/3`). */
const itemProblem = { ...problemSchema, description: 'Why this item was not enqueued' };

const itemResult = {
  anyOf: [
    {
      type: 'object',
      required: ['id', 'status', 'created'],
      properties: {
        id: { type: 'string' },
        status: { type: 'string', enum: [...jobStatuses] },
        created: { type: 'boolean', description: 'False when the idempotency key returned an existing job' },
      },
    },
    { type: 'object', required: ['error'], properties: { error: itemProblem } },
  ],
} as const;

const batchBody = (description: string) => ({
  description,
  type: 'object',
  required: ['durable', 'accepted', 'refused', 'items'],
  properties: {
    durable: { type: 'boolean', description: 'True when the store survives a crash of this process' },
    accepted: { type: 'integer', minimum: 0 },
    refused: { type: 'integer', minimum: 0 },
    items: { type: 'array', items: itemResult, description: 'One result per item, in order: the job, or a problem' },
  },
});

const headers = {
  type: 'object',
  properties: {
    'idempotency-key': {
      ...idempotencyKeySchema,
      description:
        'A key for the whole batch: item i without a key of its own gets `<key>#<i>`, so the same batch sent again returns the same jobs. Scoped by tenant.',
    },
    'webhook-url': {
      ...webhookUrlSchema,
      description: `${webhookUrlSchema.description} Applies to every item: each job settles, and is delivered, on its own.`,
    },
    traceparent: { type: 'string', description: 'W3C trace context; malformed values are ignored' },
    tracestate: { type: 'string', description: 'W3C trace context' },
  },
} as const;

export const batchProblems = {
  400: 'Malformed body, line (NDJSON) or header, an empty batch, or a malformed item (atomic) (MALFORMED_REQUEST); atomic: a Webhook-Url the system refuses (WEBHOOK_REFUSED; not atomic, each item carries it)',
  401: 'Missing or invalid credentials',
  409: 'An Idempotency-Key of the batch is still being accepted (IDEMPOTENCY_IN_FLIGHT)',
  413: 'More items than the bound (BATCH_TOO_LARGE) or a body over the byte limit (PAYLOAD_TOO_LARGE)',
  415: 'Neither application/json nor application/x-ndjson (UNSUPPORTED_MEDIA_TYPE)',
  422: "Atomic: an item's input does not satisfy the job's schema (INPUT_INVALID, issue paths start with the item's index) or its key conflicts (IDEMPOTENCY_CONFLICT); nothing was enqueued; `items` says what became of each",
  429: 'Rate limited (RATE_LIMITED)',
  503: 'Queue full (atomic, or the store said so moments ago: nothing was enqueued), shutting down, unhealthy or the store unreachable',
};

/** The fastify schema of `POST {prefix}/{job}/batch`: what fastify checks and serialises. */
export function batchSchema(job: AnyJobDefinition): FastifySchema & Record<string, unknown> {
  return {
    operationId: `submit_batch_${job.name.replace(/\W/g, '_')}`,
    summary: `Submit many ${job.name} jobs in one request`,
    tags: ['jobs'],
    headers,
    querystring: {
      type: 'object',
      properties: {
        atomic: { type: 'boolean', description: 'All or none: if any item is invalid or refused, no item is enqueued. Default false.' },
      },
    },
    response: {
      202: batchBody('Every item was enqueued (or found by its idempotency key)'),
      207: batchBody('Not atomic: some items were refused; each refused item carries its problem, the rest were enqueued'),
    },
  };
}
