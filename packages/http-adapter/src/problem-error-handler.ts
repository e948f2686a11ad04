import { errorCodes, type ErrorCode } from '@scalable-api/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblemError, problemStatuses, sendProblem, type ProblemCode, type ProblemIssue } from './problem.js';

export interface ProblemErrorHandlerOptions {
  /** Seconds a client should wait after a 503 (queue full, shutting down). */
  retryAfterSeconds: number;
  /** Counts each rejection by code, for /metrics. */
  onProblem?: (code: ProblemCode) => void;
  /**
   * Errors fastify raises on its not-found route (a `QUERY` without a Content-Type is refused
   * before any handler runs) are answered as the scope's 404/405 instead of a 400.
   */
  onNotFound?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
}

/**
 * Core codes whose message is written for the caller: it names only what the caller sent or a
 * bound it hit. Every other core code gets its documented title, because its message may carry
 * internals (`Redis: Reached the max retries…`, a script name, a tenant-scoped idempotency key);
 * the error itself, cause included, goes to the log.
 */
const callerFacing: ReadonlySet<ErrorCode> = new Set([
  'INPUT_INVALID',
  'JOB_TYPE_UNKNOWN',
  'QUEUE_FULL',
  'WAITING_PARENTS_FULL',
  'CHILDREN_LIMIT',
  'PAYLOAD_TOO_LARGE',
  'NOT_SUPPORTED',
  'SCHEDULES_FULL',
  'SCHEDULE_NOT_FOUND',
  'BATCH_TOO_LARGE',
  'BATCH_ABORTED',
  'WEBHOOK_REFUSED',
]);

/**
 * Turns whatever a route throws into an RFC 9457 problem: the adapter's own errors, the core's
 * coded errors, and fastify's (body parsing, limits, media type). Anything else is a bug on our
 * side: it is logged with its stack and answered 500 without leaking the message.
 */
export function problemErrorHandler(options: ProblemErrorHandlerOptions) {
  return function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (request.is404 && options.onNotFound && !(error instanceof HttpProblemError)) return options.onNotFound(request, reply);
    const { code, detail, headers, issues } = classify(error);
    options.onProblem?.(code);
    if (code === 'INTERNAL_ERROR') request.log.error({ err: error }, 'unhandled error in the jobs adapter');
    else if (problemStatuses[code] >= 500) request.log.warn({ err: error, code }, 'request refused');
    return sendProblem(request, reply, code, detail, { headers, issues, retryAfterSeconds: options.retryAfterSeconds });
  };
}

export interface Classified {
  code: ProblemCode;
  detail: string;
  headers: Record<string, string>;
  issues: ProblemIssue[] | undefined;
}

/** What problem an error is: its code, the detail safe to show, headers and schema issues. */
export function classify(error: unknown): Classified {
  if (error instanceof HttpProblemError) return { code: error.code, detail: error.message, headers: error.headers, issues: error.issues };
  const coded = error as { code?: unknown; statusCode?: unknown; message?: unknown; details?: unknown };
  // Duck-typed rather than `instanceof`: a second copy of the core (two installs) must map too.
  if (typeof coded.code === 'string' && Object.hasOwn(errorCodes, coded.code)) {
    const code = coded.code as ErrorCode;
    const issues = code === 'INPUT_INVALID' ? issuesOf(coded.details) : undefined;
    return { code, detail: publicDetail(code, coded), headers: {}, issues };
  }
  const status = typeof coded.statusCode === 'number' ? coded.statusCode : 500;
  const message = typeof coded.message === 'string' ? coded.message : 'Bad request';
  if (status === 413 || coded.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return plain('PAYLOAD_TOO_LARGE', message);
  if (status === 415 || coded.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return plain('UNSUPPORTED_MEDIA_TYPE', message);
  if (status >= 400 && status < 500) return plain('MALFORMED_REQUEST', message);
  return plain('INTERNAL_ERROR', 'An unexpected error occurred.');
}

function publicDetail(code: ErrorCode, error: { message?: unknown; details?: unknown }): string {
  if (callerFacing.has(code) && typeof error.message === 'string') return error.message;
  if (code === 'IDEMPOTENCY_CONFLICT') {
    const existing = (error.details as { existingId?: unknown } | undefined)?.existingId;
    return typeof existing === 'string'
      ? `This Idempotency-Key is already used by job ${existing} with another job type or other input.`
      : errorCodes[code];
  }
  return errorCodes[code];
}

function plain(code: ProblemCode, detail: string): Classified {
  return { code, detail, headers: {}, issues: undefined };
}

/**
 * Standard Schema issues carry paths of keys or `{ key }` segments; flattened to plain values so
 * they serialise (a symbol key becomes its description).
 */
export function issuesOf(details: unknown): ProblemIssue[] | undefined {
  const raw = (details as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(raw)) return undefined;
  return raw.slice(0, 100).map((issue: { message?: unknown; path?: unknown }) => ({
    message: typeof issue?.message === 'string' ? issue.message : 'invalid',
    path: Array.isArray(issue?.path) ? issue.path.map(segmentOf) : [],
  }));
}

function segmentOf(segment: unknown): string | number {
  const key = typeof segment === 'object' && segment !== null && 'key' in segment ? (segment as { key: unknown }).key : segment;
  if (typeof key === 'number') return key;
  if (typeof key === 'symbol') return key.description ?? '';
  return String(key);
}

/**
 * For the host app's `Fastify({ frameworkErrors })`: the errors fastify answers before any route
 * or plugin runs (a malformed URL, a path parameter over `maxParamLength`) become problems too.
 * Only the server factory can install it, so the plugin cannot do it by itself.
 *
 * @example
 * const app = Fastify({ frameworkErrors: problemFrameworkErrors });
 */
export function problemFrameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(request, reply, 'MALFORMED_REQUEST', typeof error.message === 'string' ? error.message.slice(0, 300) : 'Malformed URL.');
}

/**
 * For the host app's `setNotFoundHandler`: its unknown routes answered as problems like the
 * plugin's own. The plugin cannot install it itself (the root's 404s are the host app's).
 *
 * @example
 * app.setNotFoundHandler(problemNotFound);
 */
export function problemNotFound(request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(request, reply, 'ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?', 1)[0]!.slice(0, 200)}.`);
}
