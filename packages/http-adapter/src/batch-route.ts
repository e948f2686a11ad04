import { webhookJobName, type AnyJobDefinition, type SubmitManyItem, type SubmitManyResult } from '@scalable-api/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdapterContext } from './adapter-context.js';
import { batchItemSchema, batchProblems, batchSchema } from './batch-schema.js';
import type { BatchDoc } from './openapi.js';
import { ndjsonBodyParser } from './ndjson-body-parser.js';
import { classify } from './problem-error-handler.js';
import { HttpProblemError, problemStatuses, problemTitle, problemType, sendProblem, type ProblemCode, type ProblemIssue } from './problem.js';
import { fingerprint, isOverload, webhookOf } from './submit-route.js';
import { traceMetaOf } from './trace-headers.js';

type BatchRequest = FastifyRequest<{ Querystring: { atomic?: boolean } }>;

/** The route schema states the same rule (`idempotencyKeySchema`). */
const keyPattern = /^[\x21-\x7e]{1,255}$/;

interface ItemProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  issues?: ProblemIssue[];
}

type ItemAnswer = { id: string; status: string; created: boolean } | { error: ItemProblem };

/**
 * `POST {prefix}/{job}/batch`: a JSON array (or NDJSON, a value a line) of `{ input,
 * idempotencyKey? }` items, enqueued by `system.submitManyByName` in one store call. Answers 202
 * when every item was enqueued, 207 with a problem per refused item otherwise; with `?atomic=true`
 * any refusal refuses the whole request (the first refused item's problem, with `items`).
 */
export function batchRoutes(ctx: AdapterContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, ndjsonBodyParser(app, ctx.limits.jsonDepth));
    for (const job of ctx.system.jobs.values()) {
      if (job.name === webhookJobName) continue;
      const doc: BatchDoc = {
        item: batchItemSchema(job),
        maxItems: ctx.limits.batchItems,
        bodyBytes: ctx.limits.batchBodyBytes,
        jsonDepth: ctx.limits.jsonDepth,
        problems: batchProblems,
      };
      app.post<{ Querystring: { atomic?: boolean } }>(
        `/${job.name}/batch`,
        { bodyLimit: ctx.limits.batchBodyBytes, schema: batchSchema(job), config: { batch: doc }, preParsing: batchPrechecks(ctx) },
        batchHandler(ctx, job),
      );
    }
    app.post<{ Params: { name: string } }>('/:name/batch', { bodyLimit: 1024 }, async (request) => {
      throw new HttpProblemError('JOB_TYPE_UNKNOWN', `No job named ${JSON.stringify(request.params.name.slice(0, 100))}.`);
    });
  };
}

/** Refusals that need no body, before it is parsed: a draining node, and a queue the store just said is full. */
function batchPrechecks(ctx: AdapterContext) {
  return function precheck(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: never) => void) {
    if (ctx.draining) return done(new HttpProblemError('SHUTTING_DOWN', 'This node is shutting down; send the jobs to another node.'));
    if (ctx.queueFull.shed()) {
      // Answered here, without an error: its stack was a sixth of a shed batch's CPU, and a log
      // line per shed request would flood the log (the store's refusal that armed the hint was
      // answered the usual way). Not calling `done` ends the request's hooks; the body is discarded.
      ctx.metrics?.countProblem('QUEUE_FULL');
      sendProblem(request, reply, 'QUEUE_FULL', 'The queue is at its bound; no item of the batch was enqueued.', {
        retryAfterSeconds: ctx.limits.retryAfterSeconds,
      });
      return;
    }
    done(null, payload as never);
  };
}

function batchHandler(ctx: AdapterContext, job: AnyJobDefinition) {
  return async function submitBatch(request: BatchRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = request.body;
    if (!Array.isArray(body) || body.length === 0) {
      throw new HttpProblemError('MALFORMED_REQUEST', 'A batch is a non-empty JSON array (or NDJSON lines) of { input, idempotencyKey? } items.');
    }
    if (body.length > ctx.limits.batchItems) {
      throw new HttpProblemError('BATCH_TOO_LARGE', `The batch carries ${body.length} items; at most ${ctx.limits.batchItems} are taken at once.`);
    }
    const atomic = request.query.atomic === true;
    const batchKey = request.headers['idempotency-key'];
    if (batchKey !== undefined && (typeof batchKey !== 'string' || !keyPattern.test(batchKey))) {
      throw new HttpProblemError('MALFORMED_REQUEST', 'Idempotency-Key must be 1-255 visible ASCII characters.');
    }
    const meta: Record<string, string> = { ...traceMetaOf(request) };
    if (request.tenant !== undefined) meta['tenant'] = request.tenant;
    const hasMeta = Object.keys(meta).length > 0;
    // Checked by the core per item, like an input: a URL the system refuses refuses each item (WEBHOOK_REFUSED).
    const webhook = webhookOf(request);

    const answers: (ItemAnswer | undefined)[] = Array.from({ length: body.length });
    const items: SubmitManyItem[] = [];
    const positions: number[] = [];
    const keys: string[] = [];
    body.forEach((raw: unknown, i) => {
      const item = itemOf(raw);
      if (typeof item === 'string') return void (answers[i] = { error: problemOf(request, i, new HttpProblemError('MALFORMED_REQUEST', item)) });
      const key = item.idempotencyKey ?? (batchKey === undefined ? undefined : `${batchKey}#${i}`);
      const next: SubmitManyItem = { input: item.input };
      if (hasMeta) next.meta = meta;
      if (webhook) next.webhook = webhook;
      if (key !== undefined) {
        next.idempotencyKey = `${request.tenant ?? ''}\u0000${key}`;
        // The single submit route's fingerprint, so a key is one job whichever route used it.
        next.fingerprint = fingerprint(job.name, JSON.stringify(item.input) ?? '');
        keys.push(next.idempotencyKey);
      }
      items.push(next);
      positions.push(i);
    });
    const malformed = items.length < body.length;
    if (atomic && malformed)
      return refuseWhole(
        ctx,
        request,
        reply,
        answers.map((a, i) => a ?? { error: abortedProblem(request, i) }),
      );

    // A key of this batch still being accepted by another request on this node: retry shortly.
    for (const key of keys) {
      if (ctx.inflight.has(key)) {
        throw new HttpProblemError('IDEMPOTENCY_IN_FLIGHT', 'A request with one of these idempotency keys is still being accepted.', {
          headers: { 'retry-after': '1' },
        });
      }
    }
    let results: SubmitManyResult[] = [];
    for (const key of keys) ctx.inflight.add(key);
    const mark = ctx.queueFull.mark();
    try {
      if (items.length > 0) results = await ctx.system.submitManyByName(job.name, items, { atomic });
    } catch (error) {
      if (isOverload(error)) ctx.lastOverloadAt = ctx.now();
      throw error;
    } finally {
      for (const key of keys) ctx.inflight.delete(key);
    }
    noteStoreReply(ctx, results, atomic, mark);
    results.forEach((result, k) => {
      const i = positions[k]!;
      answers[i] = result.ok
        ? { id: result.handle.id, status: result.handle.status, created: result.handle.created }
        : { error: problemOf(request, i, result.error) };
    });
    const done = answers as ItemAnswer[];
    const refused = done.filter((a) => 'error' in a).length;
    if (refused > 0 && done.some((a) => 'error' in a && isOverloadCode(a.error.code))) ctx.lastOverloadAt = ctx.now();
    if (atomic && refused > 0) return refuseWhole(ctx, request, reply, done);
    if (refused > 0 && !reply.hasHeader('retry-after') && done.some((a) => 'error' in a && a.error.status === 503)) {
      reply.header('retry-after', String(ctx.limits.retryAfterSeconds));
    }
    return reply.code(refused > 0 ? 207 : 202).send({ durable: ctx.system.store.durable, accepted: done.length - refused, refused, items: done });
  };
}

/** An atomic batch refused: the first refused item's problem, every issue with its item's index, and `items`. */
function refuseWhole(ctx: AdapterContext, request: FastifyRequest, reply: FastifyReply, items: ItemAnswer[]): FastifyReply {
  const refusals = items.flatMap((a, i) => ('error' in a ? [{ i, error: a.error }] : []));
  const cause = refusals.find((r) => r.error.code !== 'BATCH_ABORTED') ?? refusals[0]!;
  const issues = refusals.flatMap((r) => (r.error.issues ?? []).map((issue) => ({ ...issue, path: [r.i, 'input', ...issue.path] }))).slice(0, 100);
  const detail = `Item ${cause.i}: ${cause.error.detail} Nothing was enqueued.`;
  // The items' own answers: those that would have gone in say BATCH_ABORTED.
  const answers = items.map((a, i) => ('error' in a ? a : { error: abortedProblem(request, i) }));
  return sendProblem(request, reply, cause.error.code, detail, {
    issues: issues.length > 0 ? issues : undefined,
    retryAfterSeconds: ctx.limits.retryAfterSeconds,
    extensions: { items: answers },
  });
}

/**
 * What the store's reply to a batch sent at `mark` says of the bound: a non-atomic item refused
 * with QUEUE_FULL means the queue is full now; an item taken means there was room, and how many
 * items the batch carried is what the hint expects the next one to (queue-full-hint.ts).
 */
function noteStoreReply(ctx: AdapterContext, results: readonly SubmitManyResult[], atomic: boolean, mark: number): void {
  let accepted = 0;
  for (const result of results) {
    if (result.ok) accepted++;
    else if (result.error.code === 'QUEUE_FULL') return atomic ? undefined : ctx.queueFull.full(mark, results.length);
  }
  if (accepted > 0) ctx.queueFull.room(results.length);
}

function itemOf(raw: unknown): { input: unknown; idempotencyKey?: string } | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'An item is an object { input, idempotencyKey? }.';
  const item = raw as Record<string, unknown>;
  for (const name of Object.keys(item))
    if (name !== 'input' && name !== 'idempotencyKey') return `Unknown item field ${JSON.stringify(name.slice(0, 50))}.`;
  const key = item['idempotencyKey'];
  if (key !== undefined && (typeof key !== 'string' || !keyPattern.test(key))) return 'idempotencyKey must be 1-255 visible ASCII characters.';
  return key === undefined ? { input: item['input'] } : { input: item['input'], idempotencyKey: key };
}

function problemOf(request: FastifyRequest, index: number, error: unknown): ItemProblem {
  const { code, detail, issues } = classify(error);
  const problem: ItemProblem = {
    type: problemType(code),
    title: problemTitle(code),
    status: problemStatuses[code],
    detail,
    instance: `${request.url}#/${index}`,
    code,
  };
  if (issues) problem.issues = issues;
  return problem;
}

function abortedProblem(request: FastifyRequest, index: number): ItemProblem {
  return problemOf(request, index, new HttpProblemError('BATCH_ABORTED', 'Another item of the atomic batch was refused; this one was not enqueued.'));
}

function isOverloadCode(code: unknown): boolean {
  return code === 'QUEUE_FULL' || code === 'WAITING_PARENTS_FULL';
}
