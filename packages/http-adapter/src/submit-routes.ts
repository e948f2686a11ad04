import { jobStatuses, webhookJobName, type AnyJobDefinition } from '@scalable-api/core';
import type { FastifyContentTypeParser, FastifyInstance, FastifySchema } from 'fastify';
import type { AdapterContext } from './adapter-context.js';
import type { SubmitDoc } from './openapi.js';
import { submitHandler, submitPrechecks } from './submit-route.js';

/** RFC 9110 visible ASCII, as `idempotencyKeyPattern` in submit-route.ts enforces it too. */
export const idempotencyKeySchema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[!-~]+$',
  description:
    '1-255 visible ASCII characters. The same key with the same body returns the same job (Idempotent-Replayed: true); with another body 422 IDEMPOTENCY_CONFLICT. Scoped by tenant.',
} as const;

/** The callback URL of the job(s) a request submits; the core checks it against the system's allowlist. */
export const webhookUrlSchema = {
  type: 'string',
  minLength: 1,
  description:
    "POST the outcome here, signed per Standard Webhooks, when the job settles (docs/webhooks.md). Must match the system's webhook allowlist: else 400 WEBHOOK_REFUSED.",
} as const;

const location = { type: 'string', format: 'uri-reference', description: 'The job: GET it for status and result' };
const replayed = { type: 'string', enum: ['true'], description: 'Present when an Idempotency-Key returned an existing job' };

const submitHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': idempotencyKeySchema,
    prefer: {
      type: 'string',
      description:
        'RFC 7240. `wait=N` (seconds, capped by the plugin) answers 200 with the outcome when the job settles within N seconds; 202 otherwise.',
    },
    'webhook-url': webhookUrlSchema,
    traceparent: { type: 'string', description: 'W3C trace context; malformed values are ignored' },
    tracestate: { type: 'string', description: 'W3C trace context' },
  },
} as const;

const problems = {
  400: 'Malformed body or header (MALFORMED_REQUEST), or a Webhook-Url the system refuses (WEBHOOK_REFUSED)',
  401: 'Missing or invalid credentials',
  409: 'The same Idempotency-Key is still being accepted (IDEMPOTENCY_IN_FLIGHT)',
  413: 'Body larger than the limit (PAYLOAD_TOO_LARGE)',
  415: 'A media type this job does not take (UNSUPPORTED_MEDIA_TYPE)',
  422: "Input does not satisfy the job's schema (INPUT_INVALID, every issue with its path), or the Idempotency-Key was used with another body",
  429: 'Rate limited (RATE_LIMITED)',
  503: 'Queue full, shutting down, unhealthy or the store unreachable',
};

/**
 * The fastify schema of one job's submit route: what fastify enforces (headers) and serialises
 * (the 202 and 200 bodies), and what the OpenAPI document states, from the same object.
 */
export function submitSchema(job: AnyJobDefinition): FastifySchema & Record<string, unknown> {
  return {
    operationId: `submit_${job.name.replace(/\W/g, '_')}`,
    summary: `Submit a ${job.name} job`,
    tags: ['jobs'],
    headers: submitHeaders,
    response: {
      200: {
        description: 'Settled within `Prefer: wait=N`',
        type: 'object',
        required: ['id', 'status', 'durable'],
        properties: {
          id: { type: 'string' },
          status: { type: 'string', enum: ['completed', 'failed', 'cancelled'] },
          output: { description: "The job's output (completed)" },
          error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
          durable: { type: 'boolean', description: 'True when the store survives a crash of this process' },
        },
        headers: { Location: location, 'Idempotent-Replayed': replayed },
      },
      202: {
        description: 'Accepted',
        type: 'object',
        required: ['id', 'status', 'durable'],
        properties: {
          id: { type: 'string' },
          status: { type: 'string', enum: [...jobStatuses] },
          durable: { type: 'boolean', description: 'True when the store survives a crash of this process' },
        },
        headers: { Location: location, 'Idempotent-Replayed': replayed },
      },
    },
  };
}

/**
 * `POST {prefix}/{job}`: one route per job, so each has its own schema and document, and a
 * fallback `POST {prefix}/:name` that answers 404 JOB_TYPE_UNKNOWN (before reading a body).
 * Binary parsers exist only for the media types some job `accepts`; which job takes which is
 * checked before the body is read.
 */
export function submitRoutes(ctx: AdapterContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    // Binary bodies go to the handler as the raw stream; the blob store bounds and consumes it.
    const passStream: FastifyContentTypeParser = (_request, payload, done) => done(null, payload);
    const ranges = new Set<string>();
    for (const job of ctx.system.jobs.values()) for (const type of job.accepts ?? []) ranges.add(type);
    for (const range of ranges) {
      if (!range.endsWith('/*')) app.addContentTypeParser(range, passStream);
      else app.addContentTypeParser(new RegExp(`^${range.slice(0, -1).replace(/[.+]/g, '\\$&')}[\\w.+-]+`), passStream);
    }

    for (const job of ctx.system.jobs.values()) {
      // Made by the store when a job with a webhook settles, never submitted.
      if (job.name === webhookJobName) continue;
      const doc: SubmitDoc = {
        job,
        problems,
        bodyRequired: bodyRequired(job),
        jsonBodyBytes: ctx.limits.jsonBodyBytes,
        blobBytes: ctx.limits.blobBytes,
        jsonDepth: ctx.limits.jsonDepth,
      };
      app.post(
        `/${job.name}`,
        { bodyLimit: ctx.limits.jsonBodyBytes, preParsing: submitPrechecks(ctx, job), schema: submitSchema(job), config: { submit: doc } },
        submitHandler(ctx, job.name),
      );
    }
    // Never reached: the precheck refuses every name that is not a job.
    app.post<{ Params: { name: string } }>('/:name', { bodyLimit: 1024, preParsing: submitPrechecks(ctx, undefined) }, async () => {
      throw new Error('unreachable: unknown job names are refused before parsing');
    });
  };
}

/** A job whose schema refuses `undefined` needs a body; one without a schema takes none too. */
function bodyRequired(job: AnyJobDefinition): boolean {
  if (job.schema === undefined) return false;
  try {
    const result = job.schema['~standard'].validate(undefined);
    if (result instanceof Promise) {
      result.catch(() => {});
      return true;
    }
    return result.issues !== undefined;
  } catch {
    return true;
  }
}
