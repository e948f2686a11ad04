import type { ScheduleEvery } from '@scalable-api/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fromStore, type AdapterContext } from './adapter-context.js';
import type { RouteDoc } from './openapi.js';
import { HttpProblemError } from './problem.js';
import { scheduleView } from './schedule-view.js';

interface ScheduleBody {
  job: string;
  input?: unknown;
  cron?: string;
  tz?: string;
  everyMs?: number;
  missed?: 'skip' | 'catchUpOne';
  overlap?: 'skip' | 'allow';
  graceMs?: number;
}

const keySchema = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[!-~]+$' } as const;
const nameSchema = { type: 'string', minLength: 1, maxLength: 200 } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

const scheduleSchema = {
  type: 'object',
  required: ['key', 'job', 'missed', 'overlap', 'graceMs', 'nextAt', 'version', 'createdAt', 'updatedAt', 'lastAt', 'lastJobId'],
  properties: {
    key: keySchema,
    job: nameSchema,
    input: {},
    cron: { type: 'string' },
    tz: { type: 'string' },
    everyMs: { type: 'integer' },
    missed: { type: 'string', enum: ['skip', 'catchUpOne'] },
    overlap: { type: 'string', enum: ['skip', 'allow'] },
    graceMs: { type: 'integer' },
    nextAt: nullableTime,
    version: { type: 'integer' },
    createdAt: time,
    updatedAt: time,
    lastAt: nullableTime,
    lastJobId: { type: ['string', 'null'] },
  },
} as const;

const bodySchema = {
  type: 'object',
  required: ['job'],
  additionalProperties: false,
  description: 'Either `cron` (5 or 6 fields, in `tz`, default UTC) or `everyMs` (ticks on multiples of it since the epoch).',
  properties: {
    job: { ...nameSchema, description: 'The job type each tick runs' },
    input: { description: "The job's input, validated by its schema (422 with every issue)" },
    cron: { type: 'string', maxLength: 200 },
    tz: { type: 'string', maxLength: 100, description: 'An IANA time zone, e.g. Europe/Berlin' },
    everyMs: { type: 'integer', minimum: 100 },
    missed: { type: 'string', enum: ['skip', 'catchUpOne'], description: "Ticks no node could run within graceMs. Default 'skip'" },
    overlap: { type: 'string', enum: ['skip', 'allow'], description: "'skip': no run while the previous one goes on. Default 'allow'" },
    graceMs: { type: 'integer', minimum: 0, description: 'How late a tick may still run. Default 10000' },
  },
} as const;

const problems = {
  401: 'Missing or invalid credentials',
  403: 'The caller is not an admin (FORBIDDEN)',
  501: 'The store keeps no schedules (NOT_SUPPORTED)',
};

function doc(summary: string, responses: Record<number, string>): { config: { openapi: RouteDoc } } {
  return { config: { openapi: { summary, tags: ['admin'], responses: { ...responses, ...problems } } } };
}

/**
 * Schedules and paused job types at `{prefix}/schedules` and `{prefix}/paused`: admin routes.
 * They change the system for every tenant, so a caller needs an admin tenant (`adminTenants`)
 * whenever the plugin knows tenants at all (auth or a `tenant` resolver); without either, every
 * route is open anyway and so are these.
 */
export function scheduleRoutes(ctx: AdapterContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', async (request) => assertAdmin(ctx, request));

    app.get(
      '/schedules',
      {
        schema: {
          response: { 200: { type: 'object', required: ['schedules'], properties: { schedules: { type: 'array', items: scheduleSchema } } } },
        },
        ...doc('Every schedule, by next tick', { 200: 'The schedules' }),
      },
      async (_request, reply) => {
        const schedules = await fromStore(ctx.system.schedules());
        return reply.header('cache-control', 'no-store').send({ schedules: schedules.map(scheduleView) });
      },
    );

    app.put<{ Params: { key: string }; Body: ScheduleBody }>(
      '/schedules/:key',
      {
        schema: {
          params: { type: 'object', required: ['key'], properties: { key: keySchema } },
          body: bodySchema,
          response: { 200: scheduleSchema },
        },
        ...doc('Create or replace the schedule `key`; the same definition again keeps its next tick', {
          200: 'The schedule as stored',
          404: 'No such job type (JOB_TYPE_UNKNOWN)',
          409: 'The store holds as many schedules as it allows (SCHEDULES_FULL)',
          422: 'Bad input, timing or policy (INPUT_INVALID)',
        }),
      },
      async (request, reply) => {
        const { job, input, cron, tz, everyMs, missed, overlap, graceMs } = request.body;
        if ((cron === undefined) === (everyMs === undefined)) throw new HttpProblemError('MALFORMED_REQUEST', 'Give either `cron` or `everyMs`.');
        const every: ScheduleEvery = cron !== undefined ? (tz === undefined ? { cron } : { cron, tz }) : { everyMs: everyMs! };
        const options = { ...(missed && { missed }), ...(overlap && { overlap }), ...(graceMs !== undefined && { graceMs }) };
        const info = await ctx.system.scheduleByName(request.params.key, job, input, every, options);
        return reply.send(scheduleView(info));
      },
    );

    app.delete<{ Params: { key: string } }>(
      '/schedules/:key',
      {
        bodyLimit: 1024,
        ...doc('Remove the schedule `key` (jobs it made run on)', { 204: 'Removed', 404: 'No such schedule (SCHEDULE_NOT_FOUND)' }),
      },
      async (request, reply) => {
        if (!(await ctx.system.unschedule(request.params.key))) throw new HttpProblemError('SCHEDULE_NOT_FOUND', 'No schedule with that key.');
        return reply.code(204).send();
      },
    );

    app.get(
      '/paused',
      {
        schema: { response: { 200: { type: 'object', required: ['paused'], properties: { paused: { type: 'array', items: nameSchema } } } } },
        ...doc('The paused job types', { 200: 'Their names' }),
      },
      async (_request, reply) => {
        return reply.header('cache-control', 'no-store').send({ paused: await ctx.system.paused() });
      },
    );

    app.put<{ Params: { name: string } }>(
      '/paused/:name',
      {
        bodyLimit: 1024,
        ...doc('Pause a job type on every node: its jobs stay queued (and counted), none starts', {
          204: 'Paused',
          404: 'No such job type (JOB_TYPE_UNKNOWN)',
        }),
      },
      async (request, reply) => {
        await ctx.system.pause(request.params.name);
        return reply.code(204).send();
      },
    );

    app.delete<{ Params: { name: string } }>(
      '/paused/:name',
      { bodyLimit: 1024, ...doc('Resume a paused job type', { 204: 'Resumed (or was not paused)', 404: 'No such job type (JOB_TYPE_UNKNOWN)' }) },
      async (request, reply) => {
        await ctx.system.resume(request.params.name);
        return reply.code(204).send();
      },
    );
  };
}

/** Whether the caller may see and change schedules and paused types: anyone where the plugin knows no tenants. */
export function isAdmin(ctx: AdapterContext, request: FastifyRequest): boolean {
  if (ctx.authenticate === undefined && ctx.tenantOf === undefined) return true;
  return request.tenant !== undefined && ctx.adminTenants.has(request.tenant);
}

function assertAdmin(ctx: AdapterContext, request: FastifyRequest): void {
  if (!isAdmin(ctx, request)) throw new HttpProblemError('FORBIDDEN', 'Schedules and pausing job types need an admin tenant.');
}
