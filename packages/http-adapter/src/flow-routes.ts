import { maxTopKeys } from '@scalable-api/core';
import type { FastifyInstance } from 'fastify';
import { fromStore, type AdapterContext } from './adapter-context.js';
import { jobTypeFlowView } from './flow-view.js';
import { HttpProblemError } from './problem.js';
import { isAdmin } from './schedule-routes.js';

const time = { type: 'string', format: 'date-time' } as const;
/** A gate's fields (`FlowGateState`), times as ISO strings. */
const gateProperties = {
  heldUntil: { ...time, description: 'When the next job may start, if later than now: the rate limit is spent, or a push-back holds' },
  pushBackUntil: { ...time, description: 'The end of a push-back (`ctx.rateLimited`) in force' },
  tokens: { type: 'integer', minimum: 0, description: "Jobs the rate limit's bucket lets start now" },
} as const;

const keySchema = {
  type: 'object',
  required: ['key', 'queued'],
  properties: {
    key: { type: 'string' },
    queued: { type: 'integer', minimum: 0, description: "The key's ready jobs" },
    running: { type: 'integer', minimum: 0, description: 'Its running jobs, for a type with a per-key concurrency limit' },
    ...gateProperties,
  },
} as const;

const jobTypeSchema = {
  type: 'object',
  required: ['name', 'paused', 'fairShare', 'queued', 'keys', 'partial', 'top'],
  properties: {
    name: { type: 'string' },
    paused: { type: 'boolean' },
    rateLimit: {
      type: 'object',
      required: ['max', 'perMs', 'perKey'],
      properties: { max: { type: 'integer' }, perMs: { type: 'number' }, perKey: { type: 'boolean' } },
    },
    fairShare: {
      type: 'object',
      required: ['keyedBy'],
      properties: {
        keyedBy: { type: 'string', enum: ['input', 'tenant'], description: "Where a job's flow key comes from" },
        weights: { type: 'object', additionalProperties: { type: 'integer' } },
        concurrencyPerKey: { type: 'integer' },
      },
    },
    queued: { type: 'integer', minimum: 0, description: 'Ready jobs of the type (of the keys examined)' },
    keys: { type: 'integer', minimum: 0, description: 'Flow keys taking turns' },
    partial: { type: 'boolean', description: 'More keys than the store examines: `queued` and `top` count the first ones in turn order' },
    top: { type: 'array', items: keySchema, description: 'The flow keys with the most queued' },
    ...gateProperties,
  },
} as const;

export const flowAnswerSchema = {
  type: 'object',
  required: ['jobTypes'],
  properties: { jobTypes: { type: 'array', items: jobTypeSchema } },
} as const;

/**
 * `GET {prefix}/flow`: per job type, its rate limit and whether it is held back, whether it is
 * paused, and its flow keys with the most queued (docs/flow-control.md). Admin only, like
 * schedules: flow keys are usually tenants, and this shows every tenant's backlog.
 */
export function flowRoutes(ctx: AdapterContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.get<{ Querystring: { name?: string; keys: number } }>(
      '/flow',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 200, description: 'Only this job type (default: every registered one)' },
              keys: { type: 'integer', minimum: 0, maximum: maxTopKeys, default: 10, description: 'Flow keys per type, most queued first' },
            },
          },
          response: { 200: flowAnswerSchema },
        },
        config: {
          openapi: {
            summary: 'Flow control per job type: rate limits and what holds them back, pauses, the flow keys with the most queued',
            tags: ['admin'],
            responses: {
              200: 'Per job type, by name',
              400: 'A malformed query (MALFORMED_REQUEST)',
              401: 'Missing or invalid credentials',
              403: 'The caller is not an admin (FORBIDDEN)',
              404: 'No such job type (JOB_TYPE_UNKNOWN)',
              501: 'The store does not report its flow control (NOT_SUPPORTED)',
            },
          },
        },
      },
      async (request, reply) => {
        if (!isAdmin(ctx, request)) throw new HttpProblemError('FORBIDDEN', 'Flow control of every tenant needs an admin tenant.');
        const { name, keys } = request.query;
        const flow = await fromStore(ctx.system.flow({ ...(name === undefined ? {} : { names: [name] }), topKeys: keys }));
        return reply.header('cache-control', 'no-store').send({ jobTypes: flow.map(jobTypeFlowView) });
      },
    );
  };
}
