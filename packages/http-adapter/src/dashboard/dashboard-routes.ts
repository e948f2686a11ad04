import { readFile } from 'node:fs/promises';
import { jobStatuses, type JobStatus } from '@scalable-api/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { loadJob, type AdapterContext } from '../adapter-context.js';
import { problemErrorHandler } from '../problem-error-handler.js';
import { HttpProblemError } from '../problem.js';
import { listVisible } from '../list-route.js';
import { isAdmin } from '../schedule-routes.js';
import { scheduleView } from '../schedule-view.js';
import { jobTypeFlowView } from '../flow-view.js';
import type { FlowAnswer, ListAnswer, OverviewAnswer, SchedulesAnswer } from './feed-message.js';
import { retryJob } from './retry-job.js';
import { DashboardFeed, type DashboardFeedOptions, type LiveClient } from './dashboard-feed.js';

/** `dashboard: true` or these, all optional. */
export interface DashboardOptions {
  /** Live messages per second per open tab, at most. Default 2. */
  updatesPerSecond?: number;
  /** Jobs remembered for the list (a ring: the oldest go first). Default 5,000. */
  recentJobs?: number;
  /** Seconds of chart history. Default 300. */
  historySeconds?: number;
}

/** The page's files: its script is ES modules (app.js imports the others), served as they are. */
const scripts = ['app.js', 'dom.js', 'charts.js', 'job-detail.js', 'admin-panels.js'] as const;
const assets = {
  'index.html': 'text/html; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  ...(Object.fromEntries(scripts.map((name) => [name, 'text/javascript; charset=utf-8'])) as Record<(typeof scripts)[number], string>),
} as const;
type Asset = keyof typeof assets;

/** A browser cannot attach an API-key header to a page load, but it does Basic auth natively. */
const basicChallenge = { 'www-authenticate': 'Basic realm="scalable-api dashboard", charset="UTF-8"' };

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** Rows of a page of the store's listing in the dashboard's table. */
const listPageSize = 50;

/**
 * The dashboard: one page and its JSON/SSE feed under `{prefix}/dashboard`, behind the same
 * credentials as the job routes. A browser sends them as Basic auth (any user name, the API key
 * as password), which it then repeats on every request of the page, the event stream included.
 */
export function dashboardRoutes(ctx: AdapterContext, options: DashboardOptions) {
  return async function register(app: FastifyInstance): Promise<void> {
    const files = await loadAssets();
    const tenanted = ctx.authenticate !== undefined || ctx.tenantOf !== undefined;
    const rootTenants = new Map<string, string | undefined>();
    const feedOptions: DashboardFeedOptions = {
      updatesPerSecond: options.updatesPerSecond ?? 2,
      recentJobs: options.recentJobs ?? 5_000,
      historySeconds: options.historySeconds ?? 300,
      listLimit: 200,
      treeNodes: 2_000,
      slowReaderBytes: 256 * 1024,
      visible: tenanted ? (job, tenant) => tenantOfRoot(job.rootId).then((owner) => owner === tenant) : undefined,
    };
    const feed = new DashboardFeed(ctx.system, feedOptions);
    app.addHook('onClose', async () => feed.close());

    /** Roots' tenants, looked up once each; bounded like the list it serves. */
    async function tenantOfRoot(rootId: string): Promise<string | undefined> {
      if (rootTenants.has(rootId)) return rootTenants.get(rootId);
      const tenant = (await ctx.system.get(rootId))?.meta?.['tenant'];
      if (rootTenants.size >= feedOptions.recentJobs) rootTenants.delete(rootTenants.keys().next().value!);
      rootTenants.set(rootId, tenant);
      return tenant;
    }

    app.setErrorHandler(problemErrorHandler({ retryAfterSeconds: ctx.limits.retryAfterSeconds }));
    if (ctx.authenticate || ctx.tenantOf) {
      app.addHook('onRequest', async (request) => {
        if (ctx.authenticate) request.tenant = await authenticateDashboard(ctx.authenticate, request);
        else if (ctx.tenantOf) request.tenant = ctx.tenantOf(request);
      });
    }
    // Cancel and retry change state: a cross-site form could ride on the browser's Basic
    // credentials, but it cannot set a custom header without a CORS preflight we never grant.
    app.addHook('onRequest', async (request) => {
      if (request.method === 'POST' && request.headers['x-dashboard'] !== '1') {
        throw new HttpProblemError('MALFORMED_REQUEST', 'Dashboard actions need the x-dashboard: 1 header.');
      }
    });

    // The status filter lists the core's statuses: the page keeps no copy of them.
    const statusOptions = jobStatuses.map((status) => `<option>${status}</option>`).join('');
    const page = (base: string) => files['index.html'].replace('%BASE%', base).replace(/<!--statuses:[^>]*-->/, statusOptions);
    app.get('/', async (_request, reply) => {
      return (
        reply
          .type(assets['index.html'])
          .header('cache-control', 'no-store')
          // Own script and stylesheet only (inline style attributes draw chart colours and bars);
          // no framing, so the cancel button cannot be clickjacked.
          .header(
            'content-security-policy',
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
          )
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .send(page(`${app.prefix}/`))
      );
    });
    for (const name of ['app.css', ...scripts] as const) {
      app.get(`/${name}`, async (_request, reply) => reply.type(assets[name]).header('cache-control', 'no-cache').send(files[name]));
    }

    app.get<{ Querystring: Record<string, string | undefined> }>('/api/overview', async (request): Promise<OverviewAnswer> => {
      const client = { tenant: request.tenant, filter: listFilter(request.query) };
      const [overview, list] = await Promise.all([feed.overview(request.tenant), feed.list(client)]);
      return { overview, list, points: feed.history() };
    });

    // Schedules and paused types are the whole system's: shown to admins only (see schedule-routes.ts).
    app.get('/api/schedules', async (request): Promise<SchedulesAnswer> => {
      if (!isAdmin(ctx, request)) return { schedules: [], paused: [] };
      const quietly = async <T>(call: Promise<T>, none: T): Promise<T> => {
        try {
          return await call;
        } catch (error) {
          if ((error as { code?: unknown } | undefined)?.code === 'NOT_SUPPORTED') return none;
          throw error;
        }
      };
      const [schedules, paused] = await Promise.all([quietly(ctx.system.schedules(), []), quietly(ctx.system.paused(), [])]);
      return { schedules: schedules.slice(0, 100).map(scheduleView), paused };
    });

    // Flow control per job type (see flow-routes.ts): the whole system's, so admins only.
    app.get('/api/flow', async (request): Promise<FlowAnswer> => {
      if (!isAdmin(ctx, request)) return { jobTypes: [] };
      try {
        return { jobTypes: (await ctx.system.flow({ topKeys: 5 })).map(jobTypeFlowView) };
      } catch (error) {
        if ((error as { code?: unknown } | undefined)?.code === 'NOT_SUPPORTED') return { jobTypes: [] };
        throw error;
      }
    });

    // Pause and resume from the flow panel: the admin routes' rule (schedule-routes.ts).
    app.post<{ Params: { name: string; action: string } }>('/api/job-types/:name/:action', async (request) => {
      if (!isAdmin(ctx, request)) throw new HttpProblemError('FORBIDDEN', 'Pausing job types needs an admin tenant.');
      const { name, action } = request.params;
      if (action === 'pause') await ctx.system.pause(name);
      else if (action === 'resume') await ctx.system.resume(name);
      else throw new HttpProblemError('ROUTE_NOT_FOUND', 'The actions are pause and resume.');
      return { name, paused: action === 'pause' };
    });

    // The store's listing, a page at a time: every job it holds, not only the recent ones.
    app.get<{ Querystring: Record<string, string | undefined> }>('/api/list', async (request, reply): Promise<ListAnswer> => {
      const { status, name } = listFilter(request.query);
      const cursor = request.query['cursor'] || undefined;
      const page = await listVisible(ctx, request, { status, name, cursor, limit: listPageSize });
      const jobs = page.jobs.map((j) => ({
        id: j.id,
        name: j.name,
        status: j.status,
        attempt: j.attempt,
        createdAt: j.createdAt,
        child: j.parentId !== undefined,
      }));
      void reply.header('cache-control', 'no-store');
      return page.cursor === undefined ? { jobs } : { jobs, cursor: page.cursor };
    });

    app.get('/api/jobs/:id', async (request: IdRequest) => {
      await loadJob(ctx, request, request.params.id);
      const detail = await feed.job(request.params.id);
      if (!detail) throw new HttpProblemError('JOB_NOT_FOUND', 'The job is gone.');
      return detail;
    });

    app.post('/api/jobs/:id/cancel', async (request: IdRequest) => {
      await loadJob(ctx, request, request.params.id);
      return { result: await ctx.system.cancel(request.params.id) };
    });

    app.post('/api/jobs/:id/retry', async (request: IdRequest, reply) => {
      const record = await loadJob(ctx, request, request.params.id);
      const handle = await retryJob(ctx, request, record);
      return reply.code(202).send({ id: handle.id, status: handle.status, retryOf: record.id });
    });

    app.get<{ Querystring: Record<string, string | undefined> }>('/api/live', async (request, reply) => {
      const jobId = request.query['job'] || undefined;
      if (jobId !== undefined) await loadJob(ctx, request, jobId);
      // Counted with the API's streams: the plugin ends them all on close, and the bounds are shared.
      ctx.sse.take(request.tenant ?? `ip:${request.ip}`, reply.raw);
      reply.hijack();
      const res = reply.raw;
      // The connection ends with the stream (see openSse).
      res.shouldKeepAlive = false;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      const client: LiveClient = {
        res,
        tenant: request.tenant,
        filter: listFilter(request.query),
        jobId,
        jobRoot: undefined,
        jobDirty: false,
        listVersion: -1,
        lastPoint: 0,
      };
      await feed.connect(client);
    });
  };
}

function listFilter(query: Record<string, string | undefined>): LiveClient['filter'] {
  const status = query['status'];
  if (status && !(jobStatuses as readonly string[]).includes(status))
    throw new HttpProblemError('MALFORMED_REQUEST', `Unknown status ${JSON.stringify(status.slice(0, 32))}.`);
  return {
    status: (status || undefined) as JobStatus | undefined,
    name: query['name'] || undefined,
    rootsOnly: query['roots'] === '1',
  };
}

/** The job routes' authenticator, also fed from Basic credentials (the password is the key). */
async function authenticateDashboard(authenticate: (request: FastifyRequest) => Promise<string>, request: FastifyRequest): Promise<string> {
  const basic = /^Basic\s+([A-Za-z0-9+/=]{1,8192})\s*$/i.exec(request.headers.authorization ?? '');
  let target = request;
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const credential = colon >= 0 ? decoded.slice(colon + 1) || decoded.slice(0, colon) : decoded;
    const headers = { ...request.headers, authorization: `Bearer ${credential}` };
    target = Object.create(request, { headers: { value: headers } }) as FastifyRequest;
  }
  try {
    return await authenticate(target);
  } catch (error) {
    if (error instanceof HttpProblemError && error.code === 'UNAUTHORIZED')
      throw new HttpProblemError('UNAUTHORIZED', error.message, { headers: basicChallenge });
    throw error;
  }
}

async function loadAssets(): Promise<Record<Asset, string>> {
  // From a build (dist/dashboard/) the assets are not compiled: they ship in src/dashboard/.
  const read = (name: Asset) =>
    readFile(new URL(`./${name}`, import.meta.url), 'utf8').catch(() => readFile(new URL(`../../src/dashboard/${name}`, import.meta.url), 'utf8'));
  const names = Object.keys(assets) as Asset[];
  const texts = await Promise.all(names.map(read));
  return Object.fromEntries(names.map((name, i) => [name, texts[i]!])) as Record<Asset, string>;
}
