import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { OverloadError, type AnyJobDefinition, type BlobRef, type JobHandle, type SubmitOptions } from '@scalable-api/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdapterContext } from './adapter-context.js';
import { HttpProblemError } from './problem.js';
import { settledWithin } from './settled-within.js';
import { traceMetaOf } from './trace-headers.js';

type SubmitRequest = FastifyRequest<{ Params: { name?: string } }>;

/** The route schema states the same rule (`idempotencyKeySchema` in submit-routes.ts). */
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

/**
 * Checks that need no body, run before the body is read (route `preParsing`): an unknown job, a
 * draining node, a media type the job does not take or an oversized upload is refused without
 * streaming 50 MB to disk first. `job` is undefined on the fallback route of unknown names.
 */
export function submitPrechecks(ctx: AdapterContext, job: AnyJobDefinition | undefined) {
  // Callback style rather than async: it runs on every submit, and a refusal is the rare case.
  return function precheck(
    request: SubmitRequest,
    reply: FastifyReply,
    payload: Readable,
    done: (error: Error | null, payload?: Readable) => void,
  ): void {
    const refusal = refusalOf(ctx, job, request);
    if (!refusal) return done(null, payload);
    // The client may still be sending a large body we refuse to read: close the connection
    // after answering instead of letting Node drain it.
    const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
    if (hasBody && !isJson(request)) reply.header('connection', 'close');
    done(refusal);
  };
}

function refusalOf(ctx: AdapterContext, job: AnyJobDefinition | undefined, request: SubmitRequest): HttpProblemError | undefined {
  if (job === undefined) {
    const name = request.params.name ?? '';
    return new HttpProblemError('JOB_TYPE_UNKNOWN', `No job named ${JSON.stringify(name.slice(0, 100))}.`);
  }
  if (ctx.draining) return new HttpProblemError('SHUTTING_DOWN', 'This node is shutting down; send the job to another node.');
  if (isJson(request)) return undefined;
  const type = mediaTypeOf(request);
  if (!accepts(job, type)) {
    const takes = job.accepts && job.accepts.length > 0 ? `JSON or ${job.accepts.join(', ')}` : 'a JSON body only';
    return new HttpProblemError('UNSUPPORTED_MEDIA_TYPE', `Job ${job.name} takes ${takes}, not ${JSON.stringify(type.slice(0, 100))}.`);
  }
  if (Number(request.headers['content-length'] ?? 0) > ctx.limits.blobBytes) {
    return new HttpProblemError('PAYLOAD_TOO_LARGE', `The body is larger than ${ctx.limits.blobBytes} bytes.`);
  }
  return undefined;
}

/**
 * `POST {prefix}/:name`: validate (by the core, against the job's schema), enqueue, answer 202.
 * Binary bodies are streamed to the blob store and the job gets `{ blob: BlobRef }` instead.
 */
export function submitHandler(ctx: AdapterContext, name: string) {
  return function submit(request: SubmitRequest, reply: FastifyReply): Promise<FastifyReply> | undefined {
    const { headers } = request;
    if (
      headers['idempotency-key'] === undefined &&
      headers.prefer === undefined &&
      headers.traceparent === undefined &&
      headers['webhook-url'] === undefined &&
      request.tenant === undefined &&
      !(request.body instanceof Readable)
    ) {
      // The common request, a JSON body and nothing else, runs once per accepted job: no async
      // frame, no option objects and no promise chain of its own (the full path below cost
      // ~1.2 KB of garbage a request). Returning nothing tells fastify the reply comes later.
      const mark = ctx.queueFull.mark();
      ctx.submits.enqueue(name, request.body, noOptions, (error, handle) => {
        if (error === undefined) return void accepted(ctx, reply, handle!);
        noteOverload(ctx, error, mark);
        reply.send(error);
      });
      return undefined;
    }
    return submitInFull(ctx, name, request, reply);
  };
}

const noOptions: SubmitOptions = Object.freeze({});

function accepted(ctx: AdapterContext, reply: FastifyReply, handle: JobHandle): FastifyReply {
  reply.header('location', `${ctx.prefix}/${handle.id}`);
  if (!handle.created) reply.header('idempotent-replayed', 'true');
  return reply.code(202).send({ id: handle.id, status: handle.status, durable: ctx.system.store.durable });
}

/** Everything a submit may carry: an upload, an idempotency key, a tenant, trace context, a webhook, `Prefer: wait`. */
async function submitInFull(ctx: AdapterContext, name: string, request: SubmitRequest, reply: FastifyReply): Promise<FastifyReply> {
  const key = idempotencyKeyOf(request);
  const scopedKey = key === undefined ? undefined : `${request.tenant ?? ''}\u0000${key}`;
  if (scopedKey !== undefined) {
    if (ctx.inflight.has(scopedKey)) {
      throw new HttpProblemError('IDEMPOTENCY_IN_FLIGHT', 'A request with this Idempotency-Key is still being accepted.', {
        headers: { 'retry-after': '1' },
      });
    }
    if (ctx.inflight.size >= ctx.limits.idempotencyKeysInFlight) {
      throw new HttpProblemError('QUEUE_FULL', 'Too many keyed requests are being accepted at once.');
    }
    ctx.inflight.add(scopedKey);
  }
  let blob: BlobRef | undefined;
  let handle: JobHandle;
  // Taken as the submit goes to the store (after any upload): only QUEUE_FULL reads it.
  let mark = 0;
  try {
    let input: unknown = request.body;
    if (request.body instanceof Readable) {
      blob = await ctx.blobs.put(detached(request.body), { contentType: mediaTypeOf(request), maxBytes: ctx.limits.blobBytes });
      input = { blob };
    }
    const options: SubmitOptions = {};
    const meta: Record<string, string> = {};
    if (request.tenant !== undefined) meta['tenant'] = request.tenant;
    if (blob) meta['blob'] = blob.id;
    const trace = traceMetaOf(request);
    if (trace) Object.assign(meta, trace);
    if (blob || trace || request.tenant !== undefined) options.meta = meta;
    const webhook = webhookOf(request);
    if (webhook) options.webhook = webhook;
    if (scopedKey !== undefined) {
      options.idempotencyKey = scopedKey;
      options.fingerprint = fingerprint(name, blob ? `${blob.contentType}:${blob.sha256}` : (JSON.stringify(input) ?? ''));
    }
    mark = ctx.queueFull.mark();
    handle = await ctx.submits.submit(name, input, options);
  } catch (error) {
    if (blob) await ctx.blobs.remove(blob.id);
    noteOverload(ctx, error, mark);
    // The rest of an oversized body is never read: answer, then close.
    if ((error as { code?: unknown }).code === 'PAYLOAD_TOO_LARGE') reply.header('connection', 'close');
    throw error;
  } finally {
    if (scopedKey !== undefined) ctx.inflight.delete(scopedKey);
  }
  // An idempotent replay reuses the first job and its blob; this upload is a duplicate.
  if (blob && !handle.created) await ctx.blobs.remove(blob.id);
  const wait = preferWaitSeconds(request.headers.prefer, ctx.limits.maxWaitSeconds);
  if (wait > 0) {
    const settled = await settledWithin(ctx, handle.id, wait * 1000, reply.raw);
    // A wait can end while the server closes; its kept-alive connection would then outlive
    // close()'s sweep of idle ones and hold the process open.
    if (ctx.draining) reply.header('connection', 'close');
    if (settled) {
      reply.header('location', `${ctx.prefix}/${handle.id}`);
      if (!handle.created) reply.header('idempotent-replayed', 'true');
      return reply.code(200).send({ id: handle.id, durable: ctx.system.store.durable, ...settled });
    }
  }
  return accepted(ctx, reply, handle);
}

/**
 * The upload as a stream the blob store may destroy without destroying the request: on a body
 * over the limit the client still gets its 413 (then the connection closes) instead of a reset.
 * A client that disconnects mid-upload errors the stream, so the blob store drops the partial file.
 */
function detached(body: Readable): Readable {
  const pass = new PassThrough();
  const abort = () => {
    if (!body.readableEnded) pass.destroy(new Error('the client disconnected during the upload'));
  };
  body.once('error', (error) => pass.destroy(error));
  body.once('aborted', abort);
  body.once('close', abort);
  pass.once('error', () => body.unpipe(pass));
  body.pipe(pass);
  return pass;
}

/** RFC 7240 `Prefer: wait=N`, capped by the route's bound; 0 when absent or malformed. */
export function preferWaitSeconds(header: string | string[] | undefined, max: number): number {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return 0;
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?(?:$|[,;\s])/i.exec(value);
  return match ? Math.min(Number(match[1]), max) : 0;
}

/** The `Webhook-Url` header as the core's `webhook` option (checked there: WEBHOOK_REFUSED). */
export function webhookOf(request: FastifyRequest): { url: string } | undefined {
  const url = request.headers['webhook-url'];
  if (url === undefined) return undefined;
  if (typeof url !== 'string') throw new HttpProblemError('MALFORMED_REQUEST', 'Webhook-Url must be given once.');
  return { url };
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !idempotencyKeyPattern.test(key)) {
    throw new HttpProblemError('MALFORMED_REQUEST', 'Idempotency-Key must be 1-255 visible ASCII characters.');
  }
  return key;
}

/** The digest an idempotency key is checked against: the job's name and the body's text (or bytes' digest). */
export function fingerprint(name: string, body: string): string {
  return createHash('sha256').update(name).update('\u0000').update(body).digest('base64url');
}

/** No Content-Type is JSON's case too: an empty body, which the job's schema judges. */
function isJson(request: FastifyRequest): boolean {
  const type = mediaTypeOf(request);
  return type === 'application/json' || type === '';
}

/** `accepts` holds lower-case types and `type/*` ranges (defineJob checks and lower-cases them). */
function accepts(job: AnyJobDefinition, type: string): boolean {
  if (job.accepts === undefined) return false;
  for (const range of job.accepts) {
    if (range === type || (range.endsWith('/*') && type.startsWith(range.slice(0, -1)) && type.length > range.length - 1)) return true;
  }
  return false;
}

function mediaTypeOf(request: FastifyRequest): string {
  const header = request.headers['content-type'] ?? '';
  // The usual header needs no parsing (this runs for every submit, twice).
  if (header === 'application/json') return header;
  return header.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * A submit refused for a bound: /ready reports overload for a while, and the store's QUEUE_FULL
 * (the core's error, not the edge's own bound on keyed requests) arms the batch routes' hint,
 * `mark` taken as the submit went to the store.
 */
function noteOverload(ctx: AdapterContext, error: unknown, mark: number): void {
  if (!isOverload(error)) return;
  ctx.lastOverloadAt = ctx.now();
  if (error instanceof OverloadError && error.code === 'QUEUE_FULL') ctx.queueFull.full(mark, 1);
}

export function isOverload(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'QUEUE_FULL' || code === 'WAITING_PARENTS_FULL';
}
