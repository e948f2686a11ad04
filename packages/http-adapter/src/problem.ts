import { errorCodes, type ErrorCode } from '@scalable-api/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Codes that only exist at the HTTP edge (the core never raises them). Together with the core's
 * `errorCodes` they are every `code` a problem document can carry; docs/http-api.md lists them all
 * and a test keeps the three in sync.
 */
export const httpProblemCodes = {
  MALFORMED_REQUEST:
    'The request could not be read: invalid JSON, a forbidden key (`__proto__`, `constructor.prototype`), nesting too deep, a bad header or id.',
  UNSUPPORTED_MEDIA_TYPE: 'The Content-Type is neither JSON nor an accepted binary type for this job.',
  UNAUTHORIZED: 'Credentials are missing or invalid.',
  FORBIDDEN: 'The caller may not do this: schedules, pausing job types and the flow-control view need an admin tenant.',
  RATE_LIMITED: 'This client sent more requests than its rate allows. Retry after the delay given.',
  IDEMPOTENCY_IN_FLIGHT: 'A request with the same Idempotency-Key is still being accepted. Retry shortly.',
  ROUTE_NOT_FOUND: 'No route matches this path.',
  METHOD_NOT_ALLOWED: 'The path exists but not with this method; see the Allow header.',
  NOT_READY: 'This node does not take work now (starting, draining, overloaded or unhealthy).',
  INTERNAL_ERROR: 'An unexpected error on the server; it has been logged.',
} as const;

export type HttpProblemCode = keyof typeof httpProblemCodes;
export type ProblemCode = ErrorCode | HttpProblemCode;

/**
 * The one table from problem codes to HTTP statuses. `satisfies` makes a new core code a compile
 * error here until it is given a status. The job-outcome codes (JOB_FAILED, JOB_TIMEOUT, ...) do not
 * normally fail a request — they are shown inside a job's representation — but they still map to
 * the status a gateway would use, should one ever surface (502/504: the work behind us failed).
 *
 * @example
 * problemStatuses.QUEUE_FULL; // 503
 */
export const problemStatuses = {
  QUEUE_FULL: 503,
  WAITING_PARENTS_FULL: 503,
  CHILDREN_LIMIT: 503,
  RESULT_WAITERS_FULL: 503,
  JOB_TIMEOUT: 504,
  JOB_CANCELLED: 409,
  JOB_FAILED: 502,
  CHILD_FAILED: 502,
  JOB_QUARANTINED: 502,
  JOB_TYPE_UNKNOWN: 404,
  JOB_NOT_FOUND: 404,
  INPUT_INVALID: 422,
  IDEMPOTENCY_CONFLICT: 422,
  SHUTTING_DOWN: 503,
  NOT_STARTED: 503,
  UNHEALTHY: 503,
  LEASE_LOST: 503,
  STORE_UNAVAILABLE: 503,
  EVENTS_OVERFLOW: 503,
  THREAD_CRASHED: 502,
  CURSOR_INVALID: 400,
  NOT_SUPPORTED: 501,
  SCHEDULES_FULL: 409,
  SCHEDULE_NOT_FOUND: 404,
  BATCH_TOO_LARGE: 413,
  BATCH_ABORTED: 409,
  WEBHOOK_REFUSED: 400,
  MALFORMED_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  IDEMPOTENCY_IN_FLIGHT: 409,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_READY: 503,
  INTERNAL_ERROR: 500,
} as const satisfies Record<ProblemCode, number>;

const titles: Record<ProblemCode, string> = { ...errorCodes, ...httpProblemCodes };

/** An RFC 9457 problem document, plus the stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  /** INPUT_INVALID: where the input failed its schema. */
  issues?: ProblemIssue[];
  /** 503/429: seconds, also sent as `Retry-After`. */
  retryAfter?: number;
}

export interface ProblemIssue {
  path: (string | number)[];
  message: string;
}

/**
 * The `type` URI of a code's problem documents.
 *
 * @example
 * problemType('QUEUE_FULL'); // 'https://scalable-api.dev/problems/queue-full'
 */
export function problemType(code: ProblemCode): string {
  return `https://scalable-api.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`;
}

/**
 * An error the adapter raises itself; the error handler renders it. `headers` carries what the
 * status needs besides the body (Retry-After, Allow, WWW-Authenticate).
 *
 * @example
 * throw new HttpProblemError('UNAUTHORIZED', 'Send an API key.', { headers: { 'www-authenticate': 'Bearer' } });
 */
export class HttpProblemError extends Error {
  readonly code: ProblemCode;
  readonly headers: Record<string, string>;
  readonly issues: ProblemIssue[] | undefined;

  constructor(code: ProblemCode, detail?: string, options: { headers?: Record<string, string>; issues?: ProblemIssue[]; cause?: unknown } = {}) {
    super(detail ?? titles[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpProblemError';
    this.code = code;
    this.headers = options.headers ?? {};
    this.issues = options.issues;
  }
}

/** The documented title of a code (its line in the error tables). */
export function problemTitle(code: ProblemCode): string {
  return titles[code];
}

/** Sends a problem document; 503 and 429 always carry Retry-After so clients back off instead of hammering. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ProblemCode,
  detail: string,
  options: {
    headers?: Record<string, string>;
    issues?: ProblemIssue[] | undefined;
    retryAfterSeconds?: number;
    /** RFC 9457 extension members (a refused batch's `items`). */
    extensions?: Record<string, unknown>;
  } = {},
): FastifyReply {
  const status = problemStatuses[code];
  const problem: Problem = {
    type: problemType(code),
    title: titles[code],
    status,
    detail,
    instance: request.url,
    code,
  };
  if (options.issues) problem.issues = options.issues;
  for (const [name, value] of Object.entries(options.headers ?? {})) reply.header(name, value);
  if ((status === 503 || status === 429) && !reply.hasHeader('retry-after')) {
    const seconds = Math.max(1, Math.ceil(options.retryAfterSeconds ?? 1));
    reply.header('retry-after', String(seconds));
    problem.retryAfter = seconds;
  } else if (reply.hasHeader('retry-after')) {
    problem.retryAfter = Number(reply.getHeader('retry-after'));
  }
  const body = options.extensions ? { ...options.extensions, ...problem } : problem;
  return reply.code(status).type('application/problem+json').send(body);
}
